import Glibc
import Testbed
import TestSupport
import Testing

@Suite("ChildProcess: the one process runner")
struct ChildProcessTests {
    @Test("run hands the input to the child and reads both outputs to their end")
    func inputAndOutputs() throws {
        let result = try ChildProcess.run(["sh", "-c", "cat; echo done >&2; exit 3"], input: Array("hello\n".utf8))
        #expect(result.status == 3)
        #expect(result.stdout == "hello\n")
        #expect(result.stderr == "done\n")
    }

    @Test("a child that exits without reading a large input neither blocks nor kills the caller")
    func unreadInput() throws {
        let result = try ChildProcess.run(["true"], input: [UInt8](repeating: 0x61, count: 1 << 20))
        #expect(result.status == 0)
    }

    @Test("check returns standard output, or throws the command, its status and its standard error")
    func check() throws {
        #expect(try ChildProcess.check(["echo", "hi"]) == "hi\n")
        #expect(try ChildProcess.check(["GREETING=hello there", "sh", "-c", "echo $GREETING"]) == "hello there\n")
        #expect(throws: ChildProcess.Failure(command: ["sh", "-c", "echo no >&2; exit 2"], status: 2, stderr: "no\n")) {
            try ChildProcess.check(["sh", "-c", "echo no >&2; exit 2"])
        }
        #expect(throws: ChildProcess.Failure.self) { try ChildProcess(["/nonexistent/program"]) }
    }

    @Test("lines come one at a time from either output; a log file gets both")
    func lines() throws {
        let child = try ChildProcess(["sh", "-c", "echo one; echo two; echo err >&2"])
        #expect(child.readLine() == "one")
        #expect(child.readLine() == "two")
        #expect(child.readLine() == nil)
        #expect(child.readErrorLine() == "err")
        #expect(child.wait() == 0)
        let log = "/tmp/pipetrace-testbed-\(getpid())-\(NetworkNamespaces.uniqueID()).log"
        defer { unlink(log) }
        let logged = try ChildProcess(["sh", "-c", "echo out; echo err >&2"], output: .appendTo(path: log))
        #expect(logged.wait() == 0)
        #expect(try ChildProcess.check(["cat", log]) == "out\nerr\n")
    }

    @Test("SIGTERM reaches a child even when the parent blocks it; stop() kills one that ignores it")
    func signals() throws {
        var blocked = sigset_t(), previous = sigset_t()
        sigemptyset(&blocked)
        sigaddset(&blocked, SIGTERM)
        pthread_sigmask(SIG_BLOCK, &blocked, &previous)
        defer { pthread_sigmask(SIG_SETMASK, &previous, nil) }
        let sleeper = try ChildProcess(["sleep", "60"])
        sleeper.signal(SIGTERM)
        #expect(sleeper.wait() == 128 + SIGTERM)
        let stubborn = try ChildProcess(["sh", "-c", "trap '' TERM; echo ready; while :; do sleep 0.05; done"])
        #expect(stubborn.readLine() == "ready")
        stubborn.stop(grace: 0.2)
        #expect(!stubborn.isRunning)
        #expect(stubborn.wait() == 128 + SIGKILL)
    }
}

@Suite("NetworkNamespaces: the one namespace builder (root)", .enabled(if: RootRequirement.testsEnabled))
struct NetworkNamespacesTests {
    @Test("two namespaces joined by a veth reach each other; removal kills what runs inside and deletes them")
    func buildAndRemove() throws {
        let id = NetworkNamespaces.uniqueID()
        let (a, b) = ("tb\(id)a", "tb\(id)b")
        let namespaces = NetworkNamespaces()
        try namespaces.add(a)
        try namespaces.add(b)
        try namespaces.link("tb\(id)x", in: a, to: "tb\(id)y", in: b)
        try namespaces.address("10.239.0.1/24", device: "tb\(id)x", in: a)
        try namespaces.address("10.239.0.2/24", device: "tb\(id)y", in: b)
        let listener = try ChildProcess(NetworkNamespaces.exec(b, ["python3", "-c",
            "import socket; s = socket.create_server(('10.239.0.2', 9)); print('ready', flush=True); s.accept()"]))
        #expect(listener.readLine() == "ready")
        try ChildProcess.check(NetworkNamespaces.exec(a, ["python3", "-c", "import socket; socket.create_connection(('10.239.0.2', 9), 5)"]))
        #expect(listener.wait() == 0)
        let resident = try ChildProcess(NetworkNamespaces.exec(b, ["sleep", "60"]))
        #expect(namespaces.names == [a, b])
        namespaces.remove()
        #expect(resident.wait() == 128 + SIGKILL)
        let left = try ChildProcess.check(["ip", "netns", "list"])
        #expect(!left.contains(a) && !left.contains(b))
    }
}
