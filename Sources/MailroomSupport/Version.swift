public enum MailroomVersion {
    public static let current = "0.1.0"
}
