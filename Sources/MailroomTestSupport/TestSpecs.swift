/// Spec texts the tests and benchmarks share.
package enum TestSpecs {
    /// The smallest valid spec: one domain, one hostname, the public address and the ACME
    /// account; everything else takes the guide's value. It compiles without problems (a test
    /// says so), so a suite that reads it through git tests git, not validation.
    package static let minimal = """
        network:
          name: mailu
          subnet: 10.90.0.0/16
          gateway: 10.90.0.1
        domains: [example.org]
        mailu:
          hostnames: [mail.example.org]
          public_ipv4: 203.0.113.10
        caddy:
          email: admin@example.org

        """
}
