@testable import GoBinary
import TestSupport
import Testing

@Suite("x86-64 instruction lengths")
struct X86InstructionTests {
    private func length(_ bytes: [UInt8]) -> Int? {
        bytes.withUnsafeBytes { X86Instruction.length($0, at: 0) }
    }

    /// Encodings with the lengths objdump gives them.
    @Test("lengths of the instructions Go's compiler emits and of VEX/EVEX ones", arguments: [
        ([0x49, 0x3B, 0x66, 0x10], 4),                                  // cmp rsp, [r14+16]
        ([0x4C, 0x8D, 0x64, 0x24, 0xF8], 5),                            // lea r12, [rsp-8]
        ([0x0F, 0x86, 0x64, 0x07, 0x00, 0x00], 6),                      // jbe rel32
        ([0x48, 0x81, 0xEC, 0xE8, 0x00, 0x00, 0x00], 7),                // sub rsp, 0xe8
        ([0x48, 0x89, 0xAC, 0x24, 0xE0, 0x00, 0x00, 0x00], 8),          // mov [rsp+0xe0], rbp
        ([0x48, 0xB8, 1, 2, 3, 4, 5, 6, 7, 8], 10),                     // mov rax, imm64
        ([0xB8, 0xC3, 0x00, 0x00, 0x00], 5),                            // mov eax, 0xc3
        ([0x66, 0xB8, 0x01, 0x00], 4),                                  // mov ax, 1
        ([0x48, 0x8B, 0x05, 0x10, 0x20, 0x30, 0x40], 7),                // mov rax, [rip+disp32]
        ([0x8B, 0x04, 0x25, 0x00, 0x10, 0x00, 0x00], 7),                // mov eax, [disp32] (SIB, no base)
        ([0x44, 0x0F, 0x11, 0x7C, 0x24, 0x10], 6),                      // movups [rsp+16], xmm15
        ([0x66, 0x0F, 0x1F, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00], 9),    // nopw [rax+rax]
        ([0xF6, 0xC1, 0x01], 3),                                        // test cl, 1
        ([0xF7, 0xC1, 0x00, 0x01, 0x00, 0x00], 6),                      // test ecx, 0x100
        ([0xF7, 0xD8], 2),                                              // neg eax
        ([0x66, 0x0F, 0x3A, 0x0F, 0xC1, 0x08], 6),                      // palignr xmm0, xmm1, 8
        ([0x66, 0x0F, 0x38, 0x00, 0xC1], 5),                            // pshufb xmm0, xmm1
        ([0xC5, 0xF9, 0x6F, 0x04, 0x24], 5),                            // vmovdqa xmm0, [rsp]
        ([0xC4, 0xE3, 0x79, 0x0F, 0xC1, 0x08], 6),                      // vpalignr xmm0, xmm0, xmm1, 8
        ([0xC5, 0xF8, 0x77], 3),                                        // vzeroupper
        ([0x62, 0xF1, 0x7D, 0x48, 0x6F, 0x04, 0x24], 7),                // vmovdqa32 zmm0, [rsp]
        ([0xE8, 0x00, 0x00, 0x00, 0x00], 5),                            // call rel32
        ([0xC2, 0x08, 0x00], 3),                                        // ret 8
        ([0xC3], 1),
        ([0xCC], 1),
    ] as [([UInt8], Int)])
    func lengths(bytes: [UInt8], expected: Int) {
        #expect(length(bytes) == expected)
    }

    @Test("bytes invalid in 64-bit mode and truncated instructions have no length")
    func invalid() {
        #expect(length([0x06]) == nil)                  // push es
        #expect(length([0x9A, 0, 0, 0, 0, 0, 0]) == nil) // far call
        #expect(length([0xE8, 0x00]) == nil)
        #expect(length([0x48]) == nil)
        #expect(length([0x0F]) == nil)
        #expect(length([0x8B, 0x04]) == nil)
        #expect(length(Array(repeating: 0x66, count: 16)) == nil)
        #expect(length([]) == nil)
    }

    @Test("a 0xC3 byte inside an instruction is not a return")
    func returnsAtBoundariesOnly() {
        let code: [UInt8] = [0xB8, 0xC3, 0x00, 0x00, 0x00, 0x48, 0x83, 0xC3, 0x08, 0xC3]
        let returns = code.withUnsafeBytes { bytes -> [Int] in
            var offset = 0
            var found: [Int] = []
            while let n = X86Instruction.length(bytes, at: offset) {
                if X86Instruction.isReturn(bytes, at: offset) { found.append(offset) }
                offset += n
            }
            return found
        }
        #expect(returns == [9])
    }

    @Test("random bytes never trap the decoder and never give a length past the bytes")
    func randomBytes() {
        var random = SplitMix64(seed: 15)
        for _ in 0..<2000 {
            let bytes = (0..<Int(random.next() % 24)).map { _ in UInt8(truncatingIfNeeded: random.next()) }
            bytes.withUnsafeBytes { code in
                for offset in -1...code.count {
                    if let n = X86Instruction.length(code, at: offset) {
                        #expect(n >= 1 && n <= 15 && offset + n <= code.count)
                    }
                }
            }
        }
    }
}
