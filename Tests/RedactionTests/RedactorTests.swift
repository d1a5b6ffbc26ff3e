import TestSupport
import Redaction
import Testing

@Suite("Redactor")
struct RedactorTests {
    let redactor = Redactor()

    private func redacted(_ text: String) -> String {
        String(decoding: redactor.redact(Array(text.utf8)), as: UTF8.self)
    }

    @Test("Authorization keeps its scheme and masks the credentials, byte for byte")
    func authorization() {
        let request = "GET / HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer abc.def\r\nProxy-Authorization: Basic dXNlcjpw\r\n\r\n"
        #expect(redacted(request) == "GET / HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer *******\r\nProxy-Authorization: Basic ********\r\n\r\n")
    }

    @Test("Cookie values are masked and their names kept; Set-Cookie keeps its attributes")
    func cookies() {
        #expect(redacted("Cookie: session=s3cr3t; theme=dark\r\n") == "Cookie: session=******; theme=****\r\n")
        #expect(redacted("set-cookie: id=abc123; Path=/; HttpOnly\n") == "set-cookie: id=******; Path=/; HttpOnly\n")
    }

    @Test("headers named like secrets are masked whole; others are untouched")
    func secretHeaders() {
        let text = "X-Api-Key: k1\r\nX-Auth-Token: t\r\nContent-Length: 12\r\nUser-Agent: curl/8\r\n"
        #expect(redacted(text) == "X-Api-Key: **\r\nX-Auth-Token: *\r\nContent-Length: 12\r\nUser-Agent: curl/8\r\n")
    }

    @Test("a request line's userinfo and secret query values are masked, other parameters kept")
    func requestTarget() {
        let line = "GET http://user:pw@host:8080/p?q=1&api_key=KEY&accessToken=T#frag HTTP/1.1\r\n"
        #expect(redacted(line) == "GET http://****:**@host:8080/p?q=1&api_key=***&accessToken=*#frag HTTP/1.1\r\n")
        #expect(redactor.redact(target: "/login?user=bob&password=hunter2") == "/login?user=bob&password=*******")
        #expect(redactor.redact(target: "/a?next=http://x:y@h/") == "/a?next=http://x:y@h/")
    }

    @Test("form and JSON bodies lose their secret values")
    func bodies() {
        #expect(redacted("\r\n\r\nuser=bob&passwd=pw1") == "\r\n\r\nuser=bob&passwd=***")
        #expect(redacted(#"{"user":"bob", "client_secret" : "x\"y", "n": 1}"#) == #"{"user":"bob", "client_secret" : "****", "n": 1}"#)
    }

    @Test("extra names are configurable, and a disabled redactor passes everything")
    func configuration() {
        let custom = Redactor(names: SecretNames(extra: ["Tenant"]))
        #expect(custom.redact(target: "/?tenant=acme&x=1") == "/?tenant=****&x=1")
        #expect(redactor.redact(target: "/?tenant=acme") == "/?tenant=acme")
        let text = Array("Authorization: Basic abc\r\n".utf8)
        #expect(Redactor.disabled.redact(text) == text)
        #expect(Redactor.disabled.redact(target: "/?token=1") == "/?token=1")
    }

    @Test("name words are split at separators and case changes")
    func names() {
        let names = SecretNames()
        for name in ["api_key", "X-Api-Key", "accessToken", "X-Amz-Signature", "PASSWORD", "sig"] {
            #expect(names.isSecret(name), "\(name)")
        }
        // A broker's routing key is where a message goes, not a credential.
        for name in ["monkey", "keyboard", "Content-Length", "Host", "q", "passenger", "", "amqp.routing_key", "routing_key", "RoutingKey"] {
            #expect(!names.isSecret(name), "\(name)")
        }
    }

    @Test("header values alone are masked as in a message")
    func headerValues() {
        #expect(redactor.redact(header: "Authorization", value: "Bearer tok") == "Bearer ***")
        #expect(redactor.redact(header: "Accept", value: "*/*") == "*/*")
    }

    @Test("a TCP packet's secret bytes are masked in place and its checksum stays valid")
    func packet() {
        let payload = Array("GET /?token=abc HTTP/1.1\r\nCookie: a=b\r\n\r\n".utf8)
        var packet = ipv4TCP(payload: payload)
        #expect(checksumValid(packet))
        #expect(redactor.redactPacket(&packet) == 4)
        #expect(packet.count == 40 + payload.count)
        #expect(String(decoding: packet[40...], as: UTF8.self) == "GET /?token=*** HTTP/1.1\r\nCookie: a=*\r\n\r\n")
        #expect(checksumValid(packet))
        var odd = ipv4TCP(payload: Array("X-Api-Key: ab".utf8))
        #expect(redactor.redactPacket(&odd) == 2)
        #expect(checksumValid(odd))
        var udp = ipv4TCP(payload: payload)
        udp[9] = 17
        #expect(redactor.redactPacket(&udp) == 0)
    }

    @Test("an IPv6 packet's extension headers are walked to its TCP payload, which is masked")
    func ipv6ExtensionHeaders() {
        let segment = Array(ipv4TCP(payload: Array("Cookie: a=bc\r\n".utf8))[20...])
        let length = UInt16(8 + segment.count)
        var packet: [UInt8] = [0x60, 0, 0, 0, UInt8(length >> 8), UInt8(length & 0xff), 0, 64]
            + [UInt8](repeating: 0, count: 32) + [6, 0, 1, 4, 0, 0, 0, 0] + segment
        #expect(redactor.redactPacket(&packet) == 2)
        #expect(String(decoding: packet[68...], as: UTF8.self) == "Cookie: a=**\r\n")
    }

    @Test("arbitrary bytes never trap and never change length")
    func arbitrary() {
        var generator = SplitMix64(seed: 17)
        let alphabet = Array("GET /?&=;:@\"\\ \r\nAuthorization Cookie token key x".utf8)
        for _ in 0..<5000 {
            let n = Int(generator.next() % 96)
            let bytes = (0..<n).map { _ in
                generator.next() % 4 == 0 ? UInt8(truncatingIfNeeded: generator.next()) : alphabet[Int(generator.next() % UInt64(alphabet.count))]
            }
            let out = redactor.redact(bytes)
            #expect(out.count == bytes.count)
            #expect(zip(bytes, out).allSatisfy { $0 == $1 || $1 == Redactor.mask })
        }
    }

    private func ipv4TCP(payload: [UInt8]) -> [UInt8] {
        var p: [UInt8] = [0x45, 0, 0, 0, 0, 1, 0x40, 0, 64, 6, 0, 0, 127, 0, 0, 1, 127, 0, 0, 2]
        let total = 40 + payload.count
        p[2] = UInt8(total >> 8); p[3] = UInt8(total & 0xff)
        p += [0x9c, 0x40, 0x00, 0x50, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x18, 0xff, 0xff, 0, 0, 0, 0]
        p += payload
        let sum = tcpSum(p)
        p[36] = UInt8(~sum >> 8); p[37] = UInt8(~sum & 0xff)
        return p
    }

    /// The one's-complement sum of the pseudo-header and the TCP segment (0xffff when the checksum is right).
    private func tcpSum(_ p: [UInt8]) -> UInt16 {
        let segment = Array(p[20...])
        var sum: UInt32 = 6 + UInt32(segment.count)
        for i in stride(from: 12, to: 20, by: 2) { sum += UInt32(p[i]) << 8 | UInt32(p[i + 1]) }
        for i in stride(from: 0, to: segment.count, by: 2) {
            sum += UInt32(segment[i]) << 8 | UInt32(i + 1 < segment.count ? segment[i + 1] : 0)
        }
        while sum > 0xffff { sum = (sum & 0xffff) + (sum >> 16) }
        return UInt16(sum)
    }

    private func checksumValid(_ p: [UInt8]) -> Bool { tcpSum(p) == 0xffff }
}
