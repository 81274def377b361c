import Testing

@testable import MailroomSupport

extension PureTests {
    /// `IPAddress` and `Subnet`: parsing, canonical text, membership and host numbering.
    @Suite(.tags(.pure))
    struct SubnetTests {
        struct Address: Sendable, CustomTestStringConvertible {
            var text: String
            /// Canonical form, or nil when the text is not an address.
            var canonical: String?
            var isV6 = false
            var testDescription: String { "\"\(text)\"" }
        }

        static let addresses: [Address] = [
            Address(text: "10.90.0.1", canonical: "10.90.0.1"),
            Address(text: "0.0.0.0", canonical: "0.0.0.0"),
            Address(text: "255.255.255.255", canonical: "255.255.255.255"),
            Address(text: "fd00::1:8:0", canonical: "fd00::1:8:0", isV6: true),
            Address(text: "FD00:0:0:0:0:1:8:2", canonical: "fd00::1:8:2", isV6: true),
            Address(text: "fd00:0000::1:8:0", canonical: "fd00::1:8:0", isV6: true),
            Address(text: "2001:0db8::0001", canonical: "2001:db8::1", isV6: true),
            // RFC 5952: of two equal runs of zeros the first is compressed, of unequal the longer.
            Address(text: "2001:db8:0:0:1:0:0:1", canonical: "2001:db8::1:0:0:1", isV6: true),
            Address(text: "0:0:0:1:0:0:0:0", canonical: "0:0:0:1::", isV6: true),
            Address(text: "1:2:3:4:5:6:7:8", canonical: "1:2:3:4:5:6:7:8", isV6: true),
            Address(text: "::", canonical: "::", isV6: true),
            Address(text: "::1", canonical: "::1", isV6: true),
            Address(text: "::ffff:1.2.3.4", canonical: "::ffff:1.2.3.4", isV6: true),
            // Refused: inet_pton wants dotted quads and plain hex groups.
            Address(text: "10.1", canonical: nil),
            Address(text: "01.2.3.4", canonical: nil),
            Address(text: "256.1.1.1", canonical: nil),
            Address(text: "1.2.3.4.5", canonical: nil),
            Address(text: " 1.2.3.4", canonical: nil),
            Address(text: "1.2.3.4 ", canonical: nil),
            Address(text: "", canonical: nil),
            Address(text: "mail.example.com", canonical: nil),
            Address(text: "fe80::1%eth0", canonical: nil),
            Address(text: ":::", canonical: nil),
            Address(text: "1::2::3", canonical: nil),
            Address(text: "1:2:3:4:5:6:7:8:9", canonical: nil),
        ]

        @Test(arguments: addresses)
        func parseAndPrint(_ row: Address) {
            let address = IPAddress(row.text)
            #expect(address?.description == row.canonical)
            if let address {
                #expect(address.isV6 == row.isV6)
                // The canonical text reads back as the same address.
                #expect(IPAddress(address.description) == address)
            }
        }

        @Test func valuesAndEquality() {
            #expect(IPAddress("10.90.0.1") == IPAddress.v4(0x0A5A_0001))
            #expect(IPAddress("fd00::1:8:2") == IPAddress.v6(high: 0xFD00_0000_0000_0000, low: 0x0000_0001_0008_0002))
            #expect(IPAddress("fd00:0::1") == IPAddress("FD00::0001"))
            #expect(IPAddress("10.90.0.1") != IPAddress("::ffff:10.90.0.1"))
        }

        struct SubnetRow: Sendable, CustomTestStringConvertible {
            var text: String
            var canonical: String?
            var testDescription: String { "\"\(text)\"" }
        }

        static let subnets: [SubnetRow] = [
            SubnetRow(text: "10.90.0.0/16", canonical: "10.90.0.0/16"),
            SubnetRow(text: "0.0.0.0/0", canonical: "0.0.0.0/0"),
            SubnetRow(text: "10.90.0.7/32", canonical: "10.90.0.7/32"),
            SubnetRow(text: "fd00::1:8:0/112", canonical: "fd00::1:8:0/112"),
            SubnetRow(text: "fd00:0000::1:8:0/112", canonical: "fd00::1:8:0/112"),
            SubnetRow(text: "FD42:9::/64", canonical: "fd42:9::/64"),
            SubnetRow(text: "::/0", canonical: "::/0"),
            SubnetRow(text: "fd42::1/128", canonical: "fd42::1/128"),
            // Host bits set: the address must be the network address itself.
            SubnetRow(text: "10.90.0.1/16", canonical: nil),
            SubnetRow(text: "fd00::1:8:1/112", canonical: nil),
            SubnetRow(text: "fd42:9::1/64", canonical: nil),
            // Prefix out of range or missing.
            SubnetRow(text: "10.90.0.0/33", canonical: nil),
            SubnetRow(text: "fd42:9::/129", canonical: nil),
            SubnetRow(text: "10.90.0.0/-1", canonical: nil),
            SubnetRow(text: "10.90.0.0", canonical: nil),
            SubnetRow(text: "10.90.0.0/", canonical: nil),
            SubnetRow(text: "/16", canonical: nil),
            SubnetRow(text: "10.90.0.0/16/1", canonical: nil),
            SubnetRow(text: "10.90.0.0 /16", canonical: nil),
            SubnetRow(text: "10.90/16", canonical: nil),
        ]

        @Test(arguments: subnets)
        func parseSubnet(_ row: SubnetRow) {
            #expect(Subnet(row.text)?.description == row.canonical)
        }

        struct Membership: Sendable, CustomTestStringConvertible {
            var subnet: String
            var address: String
            var contains: Bool
            var testDescription: String { "\(address) in \(subnet)" }
        }

        static let memberships: [Membership] = [
            Membership(subnet: "10.90.0.0/16", address: "10.90.0.0", contains: true),
            Membership(subnet: "10.90.0.0/16", address: "10.90.255.255", contains: true),
            Membership(subnet: "10.90.0.0/16", address: "10.91.0.1", contains: false),
            Membership(subnet: "10.90.0.0/16", address: "10.89.255.255", contains: false),
            Membership(subnet: "10.90.0.7/32", address: "10.90.0.7", contains: true),
            Membership(subnet: "10.90.0.7/32", address: "10.90.0.8", contains: false),
            Membership(subnet: "0.0.0.0/0", address: "203.0.113.9", contains: true),
            Membership(subnet: "fd00::1:8:0/112", address: "fd00::1:8:2", contains: true),
            Membership(subnet: "fd00::1:8:0/112", address: "fd00::1:8:ffff", contains: true),
            Membership(subnet: "fd00::1:8:0/112", address: "fd00::1:9:0", contains: false),
            Membership(subnet: "fd42:9::/64", address: "fd42:9::ffff:1", contains: true),
            Membership(subnet: "fd42:9::/64", address: "fd42:9:0:1::1", contains: false),
            // A /65 boundary sits in the low half.
            Membership(subnet: "fd42:9::/65", address: "fd42:9::7fff:ffff:ffff:ffff", contains: true),
            Membership(subnet: "fd42:9::/65", address: "fd42:9::8000:0:0:0", contains: false),
            Membership(subnet: "::/0", address: "2001:db8::1", contains: true),
            // Families never mix, not even ::/0 and 0.0.0.0/0 or a mapped address.
            Membership(subnet: "::/0", address: "10.90.0.1", contains: false),
            Membership(subnet: "0.0.0.0/0", address: "::1", contains: false),
            Membership(subnet: "10.90.0.0/16", address: "::ffff:10.90.0.1", contains: false),
        ]

        @Test(arguments: memberships)
        func contains(_ row: Membership) throws {
            let subnet = try #require(Subnet(row.subnet))
            let address = try #require(IPAddress(row.address))
            #expect(subnet.contains(address) == row.contains)
        }

        @Test func adding() throws {
            #expect(try #require(IPAddress("10.90.0.0")).adding(34).description == "10.90.0.34")
            #expect(try #require(IPAddress("10.90.0.255")).adding(1).description == "10.90.1.0")
            #expect(try #require(IPAddress("255.255.255.255")).adding(1).description == "0.0.0.0")
            #expect(try #require(IPAddress("fd00::1:8:0")).adding(0x22).description == "fd00::1:8:22")
            // The low 64 bits carry into the high 64.
            #expect(try #require(IPAddress("::ffff:ffff:ffff:ffff")).adding(1).description == "0:0:0:1::")
            #expect(try #require(IPAddress("fd42:9::")).adding(0).description == "fd42:9::")
        }

        struct LastAddress: Sendable, CustomTestStringConvertible {
            var subnet: String
            var address: String
            var isLast: Bool
            var testDescription: String { "\(address) last of \(subnet)" }
        }

        static let lastAddresses: [LastAddress] = [
            LastAddress(subnet: "10.90.0.0/16", address: "10.90.255.255", isLast: true),
            LastAddress(subnet: "10.90.0.0/16", address: "10.90.0.255", isLast: false),
            LastAddress(subnet: "10.90.0.0/24", address: "10.90.0.255", isLast: true),
            LastAddress(subnet: "10.90.0.0/24", address: "10.90.0.254", isLast: false),
            LastAddress(subnet: "10.90.0.0/31", address: "10.90.0.1", isLast: true),
            // A /32 has no broadcast address; IPv6 has none at all.
            LastAddress(subnet: "10.90.0.7/32", address: "10.90.0.7", isLast: false),
            LastAddress(subnet: "fd00::1:8:0/112", address: "fd00::1:8:ffff", isLast: false),
        ]

        @Test(arguments: lastAddresses)
        func isLastAddress(_ row: LastAddress) throws {
            let subnet = try #require(Subnet(row.subnet))
            #expect(subnet.isLastAddress(try #require(IPAddress(row.address))) == row.isLast)
        }
    }
}
