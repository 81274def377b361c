import Testing

@testable import MailroomDNS
@testable import MailroomSupport

extension PureTests {
    /// What the DNS client reads from flags and the secrets file, and how an update is shown.
    @Suite(.tags(.pure)) struct DNSClientPureTests {
        @Test func serverAddresses() {
            #expect(DNSServer("127.0.0.1")?.description == "127.0.0.1")
            #expect(DNSServer("127.0.0.1:5300")?.port == 5300)
            #expect(DNSServer("::1")?.port == 53)
            #expect(DNSServer("[2001:db8::53]:5353")?.description == "[2001:db8::53]:5353")
            for bad in ["ns.example.com", "127.0.0.1:0", "127.0.0.1:x", "[::1]x", ""] {
                #expect(DNSServer(bad) == nil, "\(bad)")
            }
        }

        @Test func tsigKeys() {
            let key = TSIGKey("hmac-sha512:update:c2VjcmV0")
            #expect(key?.algorithm == "hmac-sha512" && key?.name == "update" && key?.secret == "c2VjcmV0")
            #expect(TSIGKey("update:c2VjcmV0")?.algorithm == "hmac-sha256")
            #expect(TSIGKey("rot13:update:c2VjcmV0") == nil)
            #expect(TSIGKey("c2VjcmV0") == nil)
        }

        @Test func changesReadLikeAPlan() {
            func change(_ action: DNSChange.Action, _ record: DNSRecord) -> DNSChange {
                DNSChange(action: action, record: record, zone: "example.com.")
            }
            let lines = DNSUpdate.describe([
                change(.delete, .txt(name: "example.com", ttl: 600, text: "v=spf1 -all")),
                change(.add, .txt(name: "example.com", ttl: 600, text: "v=spf1 mx ~all")),
                change(.add, DNSRecord(name: "example.com", type: "MX", ttl: 600, rdata: "10 mail.example.com.")),
                change(.delete, DNSRecord(name: "www.example.com", type: "A", ttl: 600, rdata: "192.0.2.1")),
            ])
            #expect(
                lines == [
                    "~ TXT example.com \"v=spf1 mx ~all\" (was \"v=spf1 -all\")",
                    "+ MX example.com 10 mail.example.com.",
                    "- A www.example.com 192.0.2.1",
                ])
        }

        @Test func sameDataIgnoresCaseTTLAndSplitting() {
            let split = DNSRecord(name: "X.example.com.", type: "TXT", ttl: 1, rdata: "\"v=DKIM1; \" \"p=AB\"")
            #expect(split.sameData(as: .txt(name: "x.example.com", ttl: 600, text: "v=DKIM1; p=AB")))
            let tlsa = DNSRecord(name: "_25._tcp.mail.example.com", type: "TLSA", ttl: 1, rdata: "2 1 1 0B9F")
            #expect(
                tlsa.sameData(
                    as: DNSRecord(name: "_25._tcp.mail.example.com", type: "TLSA", ttl: 9, rdata: "2 1 1 0b9f")))
            #expect(
                !tlsa.sameData(
                    as: DNSRecord(name: "_25._tcp.mail.example.com", type: "TLSA", ttl: 1, rdata: "3 1 1 0b9f")))
        }
    }
}
