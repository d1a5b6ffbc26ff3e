import Foundation
import Glibc
import TestSupport
import Testing

/// Credentials sent through a real nginx by curl: no output shows them
/// unless --no-redact; the pcapng's packets keep them unless --redact-packets.
extension ProbeTests {
    static let secrets = ["SECRETBEARER1", "SECRETCOOKIE2", "SECRETUSERINFO3", "SECRETKEY4", "SERVERSECRET5",
                          "SECRETPASS7", Data("user:SECRETBASIC6".utf8).base64EncodedString()]

    @Test("curl's credentials through nginx appear in no output of events, watch or capture unless --no-redact")
    func credentialsRedacted() throws {
        let net = try TestNetwork()
        defer { net.remove() }
        let dir = try CaptureScratch()
        let nginx = try startNginx(net, dir.path)
        defer { kill(nginx.pid, SIGKILL) }
        let shared = dir.path + "/shared.pcapng"
        let tracers = try [
            ["events", "--json"], ["events", "--json", "--no-redact"], ["watch", "--json"],
            ["capture", "-w", dir.pcapng, "-o", dir.json], ["capture", "--redact-packets", "-w", shared],
        ].map { verb in
            let child = try Child([Repository.pipetraceBinary] + verb + ["--container", net.client])
            _ = child.readErrorLine()
            return child
        }
        let url = "http://\(net.serverAddress):8080"
        for command in [
            ["curl", "-s", "-o", "/dev/null", "-H", "Authorization: Bearer SECRETBEARER1", "-b", "session=SECRETCOOKIE2; theme=x",
             "--request-target", "http://u:SECRETUSERINFO3@\(net.serverAddress):8080/p?api_key=SECRETKEY4&q=1", url + "/"],
            ["curl", "-s", "-o", "/dev/null", "-u", "user:SECRETBASIC6", url + "/login?user=bob&password=SECRETPASS7"],
        ] {
            #expect(try Child(net.exec(net.client, command)).wait() == 0)
        }
        usleep(500_000)
        var outputs: [String] = []
        var errors: [String] = []
        for tracer in tracers {
            tracer.signal(SIGINT)
            outputs.append(tracer.readAll())
            errors.append(tracer.readAllErrors())
            #expect(tracer.wait() == 0, "\(errors.last ?? "")")
        }
        let (events, eventsShown, watch) = (outputs[0], outputs[1], outputs[2])
        let json = try String(contentsOfFile: dir.json, encoding: .isoLatin1)
        let jsonPackets = json.split(separator: "\n").compactMap { line -> String? in
            guard line.contains("\"net_packet_raw\""), let r = line.range(of: #""type":"[]byte","value":""#) else { return nil }
            let value = line[r.upperBound...].prefix { $0 != "\"" }
            return Data(base64Encoded: String(value)).map { String(decoding: $0, as: UTF8.self) }
        }.joined()
        let comments = try Shell.run(["tshark", "-r", dir.pcapng, "-T", "fields", "-e", "frame.comment"])
        let sharedBytes = try String(contentsOfFile: shared, encoding: .isoLatin1)
        let wireBytes = try String(contentsOfFile: dir.pcapng, encoding: .isoLatin1)

        for (name, text) in [("events", events), ("watch", watch), ("capture JSON", json), ("JSON packets", jsonPackets),
                             ("pcapng comments", comments), ("--redact-packets pcapng", sharedBytes)] {
            for secret in ProbeTests.secrets { #expect(!text.contains(secret), "\(name) shows \(secret)") }
        }
        // Masked byte for byte, the rest kept: the analysis reads the same messages.
        #expect(events.contains(#"Authorization: Bearer *************\r\n"#))
        #expect(events.contains("Cookie: session=*************; theme=*"))
        #expect(watch.contains(#""target":"http://*:***************@\#(net.serverAddress):8080/p?api_key=**********&q=1""#))
        #expect(watch.contains(#""target":"/login?user=bob&password=***********""#))
        #expect(comments.contains("HTTP GET /login?user=bob&password=*********** 200"))
        #expect(json.contains("net_packet_http_request") && jsonPackets.contains("Set-Cookie: sid=*************; Path=/"))
        // --no-redact shows them and says so; the pcapng's packets are the wire's unless --redact-packets.
        for secret in ProbeTests.secrets { #expect(eventsShown.contains(secret), "--no-redact events lack \(secret)") }
        #expect(errors[1].contains("--no-redact"))
        #expect(wireBytes.contains("SECRETBEARER1") && wireBytes.contains("SECRETPASS7"))
        #expect(try tsharkCount(shared, "http.request") == 2 && tsharkCount(dir.pcapng, "http.request") == 2)
        #expect(try tsharkCount(shared, "http.authorization") == 2, "the redacted packets still dissect as HTTP")
    }

    /// nginx alone (no master) in the server namespace on :8080, answering 200 with a cookie.
    private func startNginx(_ net: TestNetwork, _ directory: String) throws -> Child {
        let config = """
        master_process off;
        daemon off;
        user root;
        pid \(directory)/nginx.pid;
        error_log \(directory)/error.log warn;
        events { worker_connections 64; }
        http {
            access_log off;
            client_body_temp_path \(directory)/body;
            proxy_temp_path \(directory)/proxy;
            fastcgi_temp_path \(directory)/fastcgi;
            uwsgi_temp_path \(directory)/uwsgi;
            scgi_temp_path \(directory)/scgi;
            server {
                listen 8080;
                location / { add_header Set-Cookie "sid=SERVERSECRET5; Path=/" always; return 200 "ok\\n"; }
            }
        }
        """
        try config.write(toFile: directory + "/nginx.conf", atomically: true, encoding: .utf8)
        let nginx = try Child(net.exec(net.server, ["nginx", "-c", directory + "/nginx.conf"]))
        for _ in 0..<100 {
            if (try? Shell.run(net.exec(net.server, ["ss", "-Htln", "sport = :8080"])))?.contains(":8080") == true { return nginx }
            usleep(50_000)
        }
        throw Shell.Failure(command: ["nginx"], status: -1, stderr: (try? String(contentsOfFile: directory + "/error.log", encoding: .utf8)) ?? "")
    }
}
