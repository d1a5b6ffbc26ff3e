/// The Go release a binary was built with ("go1.19.8"), from its
/// `.go.buildinfo` section: inline since Go 1.18, behind two pointers before.
enum GoBuildVersion {
    static func read(_ file: UnsafeRawBufferPointer, sections: ELFSections) -> String? {
        let b = BinaryBytes(file)
        guard let info = sections.section(named: ".go.buildinfo"), info.inFile,
              let magic = b.slice(info.offset, 14), magic.elementsEqual([0xFF] + Array(" Go buildinf:".utf8)),
              let pointerSize = b.u8(info.offset + 14).map(Int.init), pointerSize == 4 || pointerSize == 8,
              let flags = b.u8(info.offset + 15), flags & 1 == 0 else { return nil }
        if flags & 2 != 0 {
            // A uvarint length, then the bytes.
            var at = info.offset + 32
            var length = 0
            for shift in stride(from: 0, to: 35, by: 7) {
                guard let byte = b.u8(at) else { return nil }
                at += 1
                length |= Int(byte & 0x7F) << shift
                if byte & 0x80 == 0 { break }
            }
            return plausible(b.slice(at, length))
        }
        // A pointer to the string header (pointer, length) of runtime.buildVersion.
        guard let header = b.word(info.offset + 16, size: pointerSize).flatMap({ sections.fileOffset(ofAddress: UInt64($0)) }),
              let data = b.word(header, size: pointerSize).flatMap({ sections.fileOffset(ofAddress: UInt64($0)) }),
              let length = b.word(header + pointerSize, size: pointerSize) else { return nil }
        return plausible(b.slice(data, length))
    }

    private static func plausible(_ bytes: UnsafeRawBufferPointer?) -> String? {
        guard let bytes, bytes.count >= 4, bytes.count <= 64 else { return nil }
        let text = String(decoding: bytes, as: UTF8.self)
        return text.hasPrefix("go") ? text : nil
    }
}
