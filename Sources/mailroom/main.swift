print("mailroom")
