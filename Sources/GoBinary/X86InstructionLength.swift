/// The length of one x86-64 instruction, decoded from its prefixes, opcode,
/// ModRM/SIB, displacement and immediate: enough to walk a function's machine
/// code instruction by instruction, so that a 0xC3 byte inside another
/// instruction (an immediate, a displacement) is not taken for a `ret`. It
/// does not say what an instruction does, except whether it is a near return.
///
/// Covers the general-purpose, x87, SSE and the VEX/EVEX-encoded (AVX,
/// AVX-512) instructions of 64-bit mode; bytes that are invalid in 64-bit
/// mode give nil, and so does a truncated instruction.
enum X86Instruction {
    /// Near return: `ret` (C3) or `ret imm16` (C2).
    static func isReturn(_ code: UnsafeRawBufferPointer, at offset: Int) -> Bool {
        // A `rep ret` (F3 C3) is a return too.
        let i = offset < code.count && code[offset] == 0xF3 ? offset + 1 : offset
        return i >= 0 && i < code.count && (code[i] == 0xC3 || code[i] == 0xC2)
    }

    /// The length of the instruction at `offset`, or nil if it is not a valid one.
    static func length(_ code: UnsafeRawBufferPointer, at offset: Int) -> Int? {
        guard offset >= 0 else { return nil }
        var i = offset
        var operandSize16 = false
        var rexW = false
        func byte(_ at: Int) -> UInt8? { at < code.count ? code[at] : nil }

        // Legacy prefixes, then at most the REX that precedes the opcode (a legacy prefix after a REX cancels it).
        var addressSize32 = false
        prefixes: while let b = byte(i) {
            switch b {
            case 0x66: operandSize16 = true; rexW = false
            case 0x67: addressSize32 = true; rexW = false
            case 0xF0, 0xF2, 0xF3, 0x26, 0x2E, 0x36, 0x3E, 0x64, 0x65: rexW = false
            case 0x40...0x4F: rexW = b & 0x08 != 0
            default: break prefixes
            }
            i += 1
            guard i - offset < 15 else { return nil }
        }
        guard let opcode = byte(i) else { return nil }
        i += 1
        let z = operandSize16 ? 2 : 4 // "Iz": a 16- or 32-bit immediate

        var modrm = false
        var immediate = 0
        switch opcode {
        case 0x0F:
            guard let second = byte(i) else { return nil }
            i += 1
            switch second {
            case 0x38:
                guard byte(i) != nil else { return nil }
                i += 1
                modrm = true
            case 0x3A:
                guard byte(i) != nil else { return nil }
                i += 1
                modrm = true
                immediate = 1
            default:
                guard let shape = twoByte(second, z: z) else { return nil }
                (modrm, immediate) = shape
            }
        case 0xC4, 0xC5, 0x62:
            // VEX (3- or 2-byte) or EVEX: the payload names the opcode map; every instruction there has a ModRM.
            let payload = opcode == 0xC5 ? 1 : (opcode == 0xC4 ? 2 : 3)
            guard let first = byte(i), byte(i + payload - 1) != nil, let op = byte(i + payload) else { return nil }
            i += payload + 1
            let map = opcode == 0xC5 ? 1 : Int(first & (opcode == 0xC4 ? 0x1F : 0x07))
            switch map {
            case 1:
                modrm = !(op == 0x77) // vzeroupper/vzeroall
                immediate = [0x70, 0x71, 0x72, 0x73, 0xC2, 0xC4, 0xC5, 0xC6].contains(op) ? 1 : 0
            case 2: modrm = true
            case 3: modrm = true; immediate = 1
            default: return nil
            }
        default:
            guard let shape = oneByte(opcode, z: z, rexW: rexW, modrmByte: byte(i)) else { return nil }
            (modrm, immediate) = shape
            if (0xA0...0xA3).contains(opcode) && addressSize32 { immediate = 4 }
        }
        if modrm {
            guard let m = byte(i) else { return nil }
            i += 1
            let mod = m >> 6, rm = m & 7
            if mod != 3 {
                if rm == 4 {
                    guard let sib = byte(i) else { return nil }
                    i += 1
                    if mod == 0 && sib & 7 == 5 { i += 4 }
                }
                if mod == 0 && rm == 5 { i += 4 } // RIP-relative
                if mod == 1 { i += 1 }
                if mod == 2 { i += 4 }
            }
        }
        i += immediate
        let length = i - offset
        guard length <= 15, i <= code.count else { return nil }
        return length
    }

    /// ModRM and immediate size of a one-byte opcode; nil if invalid in 64-bit mode.
    private static func oneByte(_ op: UInt8, z: Int, rexW: Bool, modrmByte: UInt8?) -> (modrm: Bool, immediate: Int)? {
        switch op {
        case 0x00...0x3F:
            // ALU ops in eight rows: r/m forms, then AL/eAX with an immediate; the rest is invalid here or a prefix.
            switch op & 7 {
            case 0...3: return (true, 0)
            case 4: return (false, 1)
            case 5: return (false, z)
            default: return nil
            }
        case 0x50...0x5F: return (false, 0)
        case 0x63: return (true, 0)
        case 0x68: return (false, z)
        case 0x69: return (true, z)
        case 0x6A: return (false, 1)
        case 0x6B: return (true, 1)
        case 0x6C...0x6F: return (false, 0)
        case 0x70...0x7F: return (false, 1)
        case 0x80, 0x83: return (true, 1)
        case 0x81: return (true, z)
        case 0x84...0x8F: return (true, 0)
        case 0x90...0x99, 0x9B...0x9F: return (false, 0)
        case 0xA0...0xA3: return (false, 8) // moffs64
        case 0xA4...0xA7, 0xAA...0xAF: return (false, 0)
        case 0xA8: return (false, 1)
        case 0xA9: return (false, z)
        case 0xB0...0xB7: return (false, 1)
        case 0xB8...0xBF: return (false, rexW ? 8 : z)
        case 0xC0, 0xC1: return (true, 1)
        case 0xC2: return (false, 2)
        case 0xC3: return (false, 0)
        case 0xC6: return (true, 1)
        case 0xC7: return (true, z)
        case 0xC8: return (false, 3)
        case 0xC9: return (false, 0)
        case 0xCA: return (false, 2)
        case 0xCB, 0xCC: return (false, 0)
        case 0xCD: return (false, 1)
        case 0xCF: return (false, 0)
        case 0xD0...0xD3: return (true, 0)
        case 0xD7: return (false, 0)
        case 0xD8...0xDF: return (true, 0)
        case 0xE0...0xE7: return (false, 1)
        case 0xE8, 0xE9: return (false, 4)
        case 0xEB: return (false, 1)
        case 0xEC...0xEF: return (false, 0)
        case 0xF1, 0xF4, 0xF5: return (false, 0)
        case 0xF6, 0xF7:
            // TEST (reg field 0 or 1) carries an immediate; NOT, NEG, MUL, DIV do not.
            guard let m = modrmByte else { return nil }
            let test = (m >> 3) & 7 <= 1
            return (true, test ? (op == 0xF6 ? 1 : z) : 0)
        case 0xF8...0xFD: return (false, 0)
        case 0xFE, 0xFF: return (true, 0)
        default: return nil
        }
    }

    /// ModRM and immediate size of a 0F-prefixed opcode; nil if invalid or unknown.
    private static func twoByte(_ op: UInt8, z: Int) -> (modrm: Bool, immediate: Int)? {
        switch op {
        case 0x00...0x03, 0x0D, 0x10...0x1F, 0x20...0x23, 0x28...0x2F: return (true, 0)
        case 0x05...0x09, 0x0B, 0x0E: return (false, 0)
        case 0x0F: return (true, 1) // 3DNow!: the opcode comes last
        case 0x30...0x35, 0x37: return (false, 0)
        case 0x40...0x6F: return (true, 0)
        case 0x70...0x73: return (true, 1)
        case 0x74...0x76: return (true, 0)
        case 0x77: return (false, 0)
        case 0x78, 0x79, 0x7C...0x7F: return (true, 0)
        case 0x80...0x8F: return (false, z)
        case 0x90...0x9F: return (true, 0)
        case 0xA0...0xA2, 0xA8...0xAA: return (false, 0)
        case 0xA3, 0xA5, 0xAB, 0xAD...0xAF: return (true, 0)
        case 0xA4, 0xAC: return (true, 1)
        case 0xB0...0xB9, 0xBB...0xBF: return (true, 0)
        case 0xBA: return (true, 1)
        case 0xC0, 0xC1, 0xC3, 0xC7: return (true, 0)
        case 0xC2, 0xC4...0xC6: return (true, 1)
        case 0xC8...0xCF: return (false, 0)
        case 0xD0...0xFF: return (true, 0)
        default: return nil
        }
    }
}
