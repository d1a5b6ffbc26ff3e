/// The protocols the analyzer recognizes, tried in order on a connection's
/// first bytes. Adding a protocol is one line in `standard`.
public struct ProtocolRegistry: Sendable {
    public var parsers: [any ProtocolParser.Type]

    public init(_ parsers: [any ProtocolParser.Type]) {
        self.parsers = parsers
    }

    public static let standard = ProtocolRegistry([
        HTTP1Parser.self,
        HTTP2Parser.self,
        KafkaParser.self,
        AMQPParser.self,
    ])

    /// The most first bytes any parser needs to recognize its protocol.
    var detectionBytes: Int { parsers.map { $0.detectionBytes }.max() ?? 0 }

    /// The parser that takes a connection over after `Upgrade: <token>`.
    func parser(upgradeToken token: String) -> (any ProtocolParser.Type)? {
        parsers.first { $0.upgradeTokens.contains(token) }
    }

    /// The first parser that recognizes `prefix`, or whether to wait for more bytes.
    func detect(_ prefix: ArraySlice<UInt8>) -> (parser: (any ProtocolParser.Type)?, detection: ProtocolDetection) {
        var needMore = false
        for parser in parsers {
            switch parser.detect(prefix) {
            case .request: return (parser, .request)
            case .response: return (parser, .response)
            case .needMoreBytes: needMore = true
            case .notThisProtocol: break
            }
        }
        return (nil, needMore ? .needMoreBytes : .notThisProtocol)
    }
}
