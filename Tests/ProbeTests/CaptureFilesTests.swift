import Foundation
import Glibc
import TestSupport
import Testing

/// The files `capture` writes: private whatever the umask, and readable when the disk fills up.
extension ProbeTests {
    @Test("capture files are 0600 under umask 000, and an existing world-readable file is made 0600 with a note")
    func captureFilesArePrivate() throws {
        let net = try TestNetwork()
        defer { net.remove() }
        let dir = try CaptureScratch()
        _ = FileManager.default.createFile(atPath: dir.json, contents: Data("old".utf8), attributes: [.posixPermissions: 0o644])
        let capture = try Child(["sh", "-c", "umask 000; exec \"$0\" \"$@\"", Repository.pipetraceBinary, "capture",
                                 "-w", dir.pcapng, "-o", dir.json, "--container", net.client, "--time", "0.5"])
        #expect(capture.wait() == 0)
        let errors = capture.readAllErrors()
        #expect(errors.contains("\(dir.json) was mode 644; it is 0600 now"), "\(errors)")
        for path in [dir.pcapng, dir.json] {
            let mode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
            #expect(mode == 0o600, "\(path): \(String(mode ?? 0, radix: 8))")
        }
        #expect(try tsharkCount(dir.pcapng) == 0)
    }

    @Test("capture on a full disk stops with a clear message and leaves a file tshark reads")
    func captureOnFullDisk() throws {
        let net = try TestNetwork()
        defer { net.remove() }
        let dir = try CaptureScratch()
        let small = dir.path + "/small"
        try FileManager.default.createDirectory(atPath: small, withIntermediateDirectories: true)
        try Shell.run(["mount", "-t", "tmpfs", "-o", "size=16k", "pipetrace-test", small])
        defer { _ = try? Shell.run(["umount", small]) }
        let file = small + "/full.pcapng"
        let server = try startServer(net, mode: "plain", bodyBytes: 400_000)
        let capture = try Child([Repository.pipetraceBinary, "capture", "-w", file, "--container", net.client])
        _ = capture.readErrorLine()
        let client = try Child(net.exec(net.client, ["curl", "-s", "-o", "/dev/null", "http://\(net.serverAddress):8080/metrics"]))
        #expect(client.wait() == 0)
        server.wait()
        usleep(300_000)
        capture.signal(SIGINT)
        #expect(capture.wait() != 0)
        let errors = capture.readAllErrors()
        #expect(errors.contains("error: writing \(file): No space left on device"), "\(errors)")
        let check = try Child(["tshark", "-r", file, "-T", "fields", "-e", "frame.number"])
        let frames = check.readAll().split(separator: "\n").count
        let complaints = check.readAllErrors().split(separator: "\n").filter { !$0.contains("Running as user") }
        #expect(check.wait() == 0 && complaints.isEmpty, "\(complaints)")
        #expect(frames > 3, "the packets before the disk filled up: \(frames)")
    }
}
