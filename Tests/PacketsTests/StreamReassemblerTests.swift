import Packets
import Testing

@Suite("StreamReassembler")
struct StreamReassemblerTests {
}
