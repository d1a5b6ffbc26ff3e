import Probe
import Testing

/// Parsing only: no root, no kernel.
@Suite("Container ids from /proc/PID/cgroup")
struct ContainerResolverTests {
    let id = "3f2a9c1b7d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8"

    @Test("docker, containerd, cri-o and podman cgroup paths name the container by its short id",
          arguments: [
            "0::/system.slice/docker-%@.scope",
            "12:memory:/docker/%@",
            "0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1234.slice/cri-containerd-%@.scope",
            "0::/kubepods/besteffort/pod5678/%@",
            "0::/machine.slice/crio-%@.scope",
            "0::/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-%@.scope",
          ])
    func recognised(pattern: String) {
        let file = "1:name=systemd:/\n" + pattern.replacingOccurrences(of: "%@", with: id) + "\n"
        #expect(ContainerResolver.containerID(inCgroupFile: file) == String(id.prefix(12)))
    }

    @Test("a host process has no container id")
    func host() {
        #expect(ContainerResolver.containerID(inCgroupFile: "0::/\n") == nil)
        #expect(ContainerResolver.containerID(inCgroupFile: "0::/system.slice/nginx.service\n") == nil)
        #expect(ContainerResolver.containerID(inCgroupFile: "0::/docker/not-an-id\n") == nil)
    }
}
