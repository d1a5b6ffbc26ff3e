import Foundation
import Probe
import Testing

/// Parsing only: no root, no kernel.
@Suite("Containers named by their cgroup paths")
struct ContainerIDTests {
    static let id = "3f2a9c1b7d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8"
    static let outer = "aaaa9c1b7d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8"
    static let pod = "2c7b9a1e_5f0e_4d1b_9a8e_0c1d2e3f4a5b"

    @Test("the cgroup layouts of docker, containerd, Kubernetes, cri-o and podman name the container and its runtime",
          arguments: [
            ("/system.slice/docker-%@.scope", ContainerID.Runtime.docker),
            ("/docker/%@", .docker),
            ("/docker/\(outer)/docker/%@", .docker),
            ("/actions_job/%@", .unknown),
            ("/ecs/5a4b3c2d1e0f5a4b3c2d1e0f5a4b3c2d/%@", .unknown),
            ("/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod\(pod).slice/cri-containerd-%@.scope", .containerd),
            ("/kubepods.slice/kubepods-pod\(pod).slice/cri-containerd-%@.scope", .containerd),
            ("/kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-besteffort.slice/kubelet-kubepods-besteffort-pod\(pod).slice/cri-containerd-%@.scope", .containerd),
            ("/kubepods/besteffort/pod2c7b9a1e-5f0e-4d1b-9a8e-0c1d2e3f4a5b/%@", .unknown),
            ("/kubepods/pod2c7b9a1e-5f0e-4d1b-9a8e-0c1d2e3f4a5b/%@", .unknown),
            ("/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod\(pod).slice/docker-%@.scope", .docker),
            ("/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod\(pod).slice/crio-%@.scope", .crio),
            ("/system.slice/nerdctl-%@.scope", .containerd),
            ("/default/%@", .unknown),
            ("/machine.slice/libpod-%@.scope/container", .podman),
            ("/machine.slice/libpod-%@.scope", .podman),
            ("/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-%@.scope/container", .podman),
            ("/libpod_parent/libpod-%@", .podman),
          ])
    func layouts(pattern: String, runtime: ContainerID.Runtime) throws {
        let container = try #require(ContainerID(cgroupPath: pattern.replacingOccurrences(of: "%@", with: Self.id)))
        #expect(container.full == Self.id)
        #expect(container.short == "3f2a9c1b7d4e")
        #expect(container.runtime == runtime)
    }

    @Test("paths of host processes, runtimes' daemons and monitors, and near-ids name no container",
          arguments: [
            "/", "/init.scope", "/system.slice/nginx.service", "/system.slice/docker.service",
            "/system.slice/containerd.service", "/user.slice/user-1000.slice/session-3.scope", "/docker/not-an-id",
            "/docker/\(String(id.dropLast()))", "/docker/\(id)0", "/docker/\(String(id.dropLast()))g",
            "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod\(pod).slice/crio-conmon-\(id).scope",
            "/machine.slice/libpod-conmon-\(id).scope", "/kubepods.slice/kubepods-besteffort.slice", "", "////",
          ])
    func noContainer(path: String) {
        #expect(ContainerID(cgroupPath: path) == nil)
    }

    @Test("an id in capitals is the same id")
    func capitals() {
        #expect(ContainerID(cgroupPath: "/docker/" + Self.id.uppercased())?.full == Self.id)
    }

    @Test("a /proc/PID/cgroup file names the container by its v2 line, else by a v1 controller's (hybrid and v1 hosts)")
    func cgroupFiles() {
        let hybrid = "9:name=systemd:/\n4:memory:/docker/\(Self.id)\n3:cpuset:/\n0::/\n"
        #expect(ContainerID(cgroupFile: hybrid) == ContainerID(cgroupPath: "/docker/\(Self.id)"))
        let v1 = "12:cpu,cpuacct:/docker/\(Self.id)\n11:memory:/docker/\(Self.id)\n1:name=systemd:/docker/\(Self.id)\n"
        #expect(ContainerID(cgroupFile: v1)?.full == Self.id)
        let both = "4:memory:/docker/\(Self.outer)\n0::/system.slice/docker-\(Self.id).scope\n"
        #expect(ContainerID(cgroupFile: both)?.full == Self.id, "the v2 line is the process's own")
        #expect(ContainerID(cgroupFile: "0::/\n4:memory:/process_api/fff998700688271345b969a140f1a946\n") == nil)
        #expect(ContainerID(cgroupFile: "") == nil)
        #expect(ContainerID(cgroupFile: "garbage\n0::\n::\n4:memory\n") == nil)
    }
}

/// Runtime state files written into a temporary root, read as a host's.
@Suite("Container names from the runtimes' state")
struct ContainerRuntimeStateTests {
    let id = ContainerIDTests.id

    func withRoot(_ files: [String: String], _ body: (ContainerRuntimeState) throws -> Void) throws {
        let root = try StateRoot(files: files)
        try withExtendedLifetime(root) { try body(ContainerRuntimeState(root: root.path)) }
    }

    /// The name `state` gives the container of a cgroup path ("%@" is `id`); "no container" when the path names none.
    func name(_ state: ContainerRuntimeState, _ path: String) -> String? {
        guard let container = ContainerID(cgroupPath: path.replacingOccurrences(of: "%@", with: id)) else { return "no container" }
        return state.name(of: container)
    }

    @Test("docker's config.v2.json names a docker container, by any layout that does not say its runtime too")
    func docker() throws {
        let config = #"{"ID":"\#(id)","Name":"/vector-aggregator-1","Config":{"Labels":{"a":"b"}},"State":{"Running":true}}"#
        try withRoot(["var/lib/docker/containers/\(id)/config.v2.json": config]) { state in
            #expect(name(state, "/system.slice/docker-%@.scope") == "vector-aggregator-1")
            #expect(name(state, "/actions_job/%@") == "vector-aggregator-1")
            #expect(name(state, "/machine.slice/libpod-%@.scope") == nil, "podman keeps no docker state")
        }
    }

    @Test("containerd's task bundle names a Kubernetes container pod/container, its sandbox by the pod, nerdctl's by its name")
    func containerd() throws {
        let cri = #"{"ociVersion":"1.1.0","annotations":{"io.kubernetes.cri.container-type":"container","io.kubernetes.cri.container-name":"vector","io.kubernetes.cri.sandbox-name":"vector-aggregator-7d9f8b-xk2lp","io.kubernetes.cri.sandbox-namespace":"monitoring"}}"#
        let sandbox = #"{"annotations":{"io.kubernetes.cri.container-type":"sandbox","io.kubernetes.cri.sandbox-name":"vector-aggregator-7d9f8b-xk2lp"}}"#
        let nerdctl = #"{"annotations":{"nerdctl/name":"web"}}"#
        let other = String(id.reversed())
        let third = "b" + String(id.dropFirst())
        try withRoot(["run/containerd/io.containerd.runtime.v2.task/k8s.io/\(id)/config.json": cri,
                      "run/containerd/io.containerd.runtime.v2.task/k8s.io/\(other)/config.json": sandbox,
                      "run/containerd/io.containerd.runtime.v2.task/default/\(third)/config.json": nerdctl]) { state in
            #expect(name(state, "/kubepods.slice/cri-containerd-%@.scope") == "vector-aggregator-7d9f8b-xk2lp/vector")
            #expect(name(state, "/kubepods/besteffort/pod1/\(other)") == "vector-aggregator-7d9f8b-xk2lp")
            #expect(name(state, "/system.slice/nerdctl-\(third).scope") == "web")
        }
    }

    @Test("cri-o's userdata config names its container pod/container; podman's containers.json names a podman container")
    func crioAndPodman() throws {
        let crio = #"{"annotations":{"io.kubernetes.container.name":"api","io.kubernetes.pod.name":"shop-api-5c9","io.kubernetes.pod.namespace":"shop"}}"#
        let podmanID = "c" + String(id.dropFirst())
        let storage = #"[{"id":"\#(String(id.reversed()))","names":["other"]},{"id":"\#(podmanID)","names":["mimir-1","alias"],"image":"x"}]"#
        try withRoot(["run/containers/storage/overlay-containers/\(id)/userdata/config.json": crio,
                      "var/lib/containers/storage/overlay-containers/containers.json": storage]) { state in
            #expect(name(state, "/kubepods.slice/crio-%@.scope") == "shop-api-5c9/api")
            #expect(name(state, "/machine.slice/libpod-\(podmanID).scope/container") == "mimir-1")
        }
    }

    @Test("missing, empty and malformed state gives no name, never a crash")
    func unreadable() throws {
        let podmanID = "c" + String(id.dropFirst())
        try withRoot(["var/lib/docker/containers/\(id)/config.v2.json": #"{"Name": 42"#,
                      "var/lib/containers/storage/overlay-containers/containers.json": #"{"id":"x"}"#]) { state in
            #expect(name(state, "/docker/%@") == nil)
            #expect(name(state, "/kubepods.slice/cri-containerd-%@.scope") == nil)
            #expect(name(state, "/libpod_parent/libpod-\(podmanID)") == nil)
        }
        try withRoot(["var/lib/docker/containers/\(id)/config.v2.json": #"{"Name":""}"#]) { state in
            #expect(name(state, "/docker/%@") == nil)
        }
    }
}
