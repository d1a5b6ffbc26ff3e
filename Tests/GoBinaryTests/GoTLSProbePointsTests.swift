import Foundation
@testable import GoBinary
import TestSupport
import Testing

/// Debian's stripped Go binaries (the Makefile installs them): no .symtab, a .gopclntab.
private let debianGoBinaries = ["/usr/bin/prometheus", "/usr/bin/victoria-metrics", "/usr/bin/vmagent"]

private func contents(_ path: String) throws -> [UInt8] {
    guard let data = FileManager.default.contents(atPath: path) else {
        throw Shell.Failure(command: ["read", path], status: -1, stderr: "\(path) is missing: `make deps` installs it")
    }
    return [UInt8](data)
}

/// objdump's instruction addresses in [start, stop): the judge of the decoder.
private func objdumpInstructions(_ path: String, from start: UInt64, to stop: UInt64) throws -> [(address: UInt64, mnemonic: Substring)] {
    let text = try Shell.run(["objdump", "-d", "--no-show-raw-insn", "--start-address=0x\(String(start, radix: 16))",
                              "--stop-address=0x\(String(stop, radix: 16))", path])
    return text.split(separator: "\n").compactMap { line in
        let parts = line.split(separator: "\t", maxSplits: 1)
        guard parts.count == 2, parts[0].hasSuffix(":"),
              let address = UInt64(parts[0].dropLast().trimmingCharacters(in: .whitespaces), radix: 16) else { return nil }
        return (address, parts[1].split(separator: " ").first ?? "")
    }
}

@Suite("Go binaries: crypto/tls found from .gopclntab")
struct GoTLSProbePointsTests {
    @Test("Debian's stripped Go binaries: Write and Read found, register ABI, their rets where objdump puts them",
          arguments: debianGoBinaries)
    func debianBinaries(path: String) throws {
        let file = try contents(path)
        let points = try file.withUnsafeBytes { try GoTLSProbePoints(file: $0) }
        #expect(points.goVersion?.hasPrefix("go1.") == true, "\(String(describing: points.goVersion))")
        let sections = try file.withUnsafeBytes { try ELFSections($0) }
        #expect(sections.section(named: ".symtab") == nil, "stripped")
        let text = try #require(sections.section(named: ".text"))
        for function in [points.write, points.read] {
            let address = text.address + UInt64(function.entry - text.offset)
            #expect(address == function.address)
            let end = function.address + UInt64(function.returns.last! - function.entry) + 1
            let judged = try objdumpInstructions(path, from: function.address, to: end)
            #expect(judged.first?.address == function.address)
            let rets = judged.filter { $0.mnemonic == "ret" }.map { $0.address }
            let ours = function.returns.map { text.address + UInt64($0 - text.offset) }
            #expect(rets == ours, "\(function.name): objdump's rets \(rets), ours \(ours)")
            #expect(ours.count >= 2)
        }
    }

    /// Every function of Go's crypto packages, assembly (AES-NI, AVX2, SHA, AVX-512 paths) included.
    @Test("instruction boundaries of all of prometheus' crypto code equal objdump's")
    func decoderAgreesWithObjdump() throws {
        let path = debianGoBinaries[0]
        let file = try contents(path)
        let sections = try file.withUnsafeBytes { try ELFSections($0) }
        let pcln = try #require(sections.section(named: ".gopclntab"))
        let text = try #require(sections.section(named: ".text"))
        let allRanges: [Range<UInt64>] = try file.withUnsafeBytes { bytes in
            let table = try GoFunctionTable(UnsafeRawBufferPointer(rebasing: bytes[pcln.offset..<pcln.offset + pcln.size]))
            return (0..<table.count).compactMap { i in
                guard table.name(i)?.hasPrefix("crypto/") == true, let a = table.entry(i), let b = table.entry(i + 1) else { return nil }
                return a..<b
            }
        }
        #expect(allRanges.count > 1000)
        let low = allRanges.map(\.lowerBound).min()!, high = allRanges.map(\.upperBound).max()!
        let listing = try objdumpInstructions(path, from: low, to: high)
        // Where objdump too finds no valid instruction, the function holds data (a constant table among the
        // assembly): it is no function to probe, and two decoders need not agree on it.
        let bad = listing.filter { $0.mnemonic == "(bad)" }.map(\.address)
        let ranges = allRanges.filter { range in !bad.contains { range.contains($0) } }
        #expect(allRanges.count - ranges.count < 5)
        let judged = Set(listing.map(\.address))
        var ours = Set<UInt64>()
        var mismatches: [UInt64] = []
        file.withUnsafeBytes { bytes in
            for range in ranges {
                let start = text.offset + Int(range.lowerBound - text.address)
                let code = UnsafeRawBufferPointer(rebasing: bytes[start..<start + range.count])
                var offset = 0
                while offset < code.count {
                    guard let n = X86Instruction.length(code, at: offset) else {
                        mismatches.append(range.lowerBound + UInt64(offset))
                        break
                    }
                    ours.insert(range.lowerBound + UInt64(offset))
                    offset += n
                }
            }
        }
        let judgedInRanges = judged.filter { address in ranges.contains { $0.contains(address) } }
        #expect(mismatches.isEmpty, "undecodable at \(mismatches.prefix(5).map { String($0, radix: 16) })")
        let missed = judgedInRanges.subtracting(ours).sorted(), extra = ours.subtracting(judgedInRanges).sorted()
        #expect(missed.isEmpty && extra.isEmpty,
                "objdump only: \(missed.prefix(5).map { String($0, radix: 16) }), ours only: \(extra.prefix(5).map { String($0, radix: 16) })")
        #expect(ours.count > 100_000)
    }

    @Test("names and entries of the function table are in address order and name the runtime")
    func functionTable() throws {
        let file = try contents(debianGoBinaries[1])
        let sections = try file.withUnsafeBytes { try ELFSections($0) }
        let pcln = try #require(sections.section(named: ".gopclntab"))
        try file.withUnsafeBytes { bytes in
            let table = try GoFunctionTable(UnsafeRawBufferPointer(rebasing: bytes[pcln.offset..<pcln.offset + pcln.size]))
            #expect(table.layout == .go118)
            let entries = (0...table.count).compactMap(table.entry)
            #expect(entries.count == table.count + 1)
            #expect(zip(entries, entries.dropFirst()).allSatisfy { $0 < $1 })
            let found = table.functions(named: ["runtime.main", "main.main", "no.such.function"])
            #expect(found["runtime.main"] != nil && found["main.main"] != nil && found["no.such.function"] == nil)
        }
    }

    @Test("a file that is not a Go binary, or not one with crypto/tls, says why")
    func otherFiles() throws {
        let failure = { (path: String) -> GoTLSProbePoints.Failure? in
            let file = try contents(path)
            do {
                _ = try file.withUnsafeBytes { try GoTLSProbePoints(file: $0) }
                return nil
            } catch {
                return error as? GoTLSProbePoints.Failure
            }
        }
        #expect(try failure("/bin/sh") == .notGo)
        #expect(try failure("/etc/hostname") == .notELF)
    }

    @Test("truncated and corrupted binaries are refused, never trap")
    func corruptInput() throws {
        let original = try contents(debianGoBinaries[2])
        let sections = try original.withUnsafeBytes { try ELFSections($0) }
        let pcln = try #require(sections.section(named: ".gopclntab"))
        var random = SplitMix64(seed: 15)

        // The whole file cut short anywhere: without its section headers (at the end) it is refused.
        for cut in [0, 4, 63, 64, 4096, original.count / 2, original.count - 1] {
            let failed = original.prefix(cut).withUnsafeBytes { (try? GoTLSProbePoints(file: $0)) == nil }
            #expect(failed, "cut at \(cut)")
        }
        // The function table cut short, and its header and entries overwritten at random.
        let table = Array(original[pcln.offset..<pcln.offset + pcln.size])
        for cut in [0, 7, 8, 40, 72, 1000, 100_000, table.count / 2] {
            table.prefix(cut).withUnsafeBytes { bytes in
                _ = (try? GoFunctionTable(bytes))?.functions(named: [GoTLSProbePoints.readFunction])
            }
        }
        for _ in 0..<200 {
            var mutated = table
            for _ in 0..<4 {
                let at = Int(random.next() % 4096)
                mutated[at] = UInt8(truncatingIfNeeded: random.next())
            }
            mutated.withUnsafeBytes { bytes in
                _ = (try? GoFunctionTable(bytes))?.functions(named: [GoTLSProbePoints.readFunction, "main.main"])
            }
        }
        // The ELF header and section headers overwritten at random: refused or read, never a trap.
        let shoff = Int(original.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 0x28, as: UInt64.self) })
        var mutated = original
        for round in 0..<300 {
            let at = round % 3 == 0 ? Int(random.next() % 64) : shoff + Int(random.next() % UInt64(original.count - shoff))
            let saved = mutated[at]
            mutated[at] = UInt8(truncatingIfNeeded: random.next())
            _ = mutated.withUnsafeBytes { try? GoTLSProbePoints(file: $0) }
            mutated[at] = saved
        }
    }
}
