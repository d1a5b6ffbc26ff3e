import FoundationEssentials

/// The name operators know a container by (`vector-aggregator-1`, or
/// `pod/container` under Kubernetes), read from the state its runtime keeps
/// on disk, below `root` ("/" on a host; a directory of fake state in tests).
/// Where nothing is readable the container has no name and goes by its id.
public struct ContainerRuntimeState: Sendable {
    public let root: String

    public init(root: String = "/") {
        self.root = root.hasSuffix("/") ? String(root.dropLast()) : root
    }

    /// The container's name, or nil when no runtime's state names it.
    public func name(of id: ContainerID) -> String? {
        let stores: [Store]
        switch id.runtime {
        case .docker: stores = [.docker]
        case .containerd: stores = [.containerd]
        case .crio: stores = [.crio, .storage]
        case .podman: stores = [.storage]
        case .unknown: stores = [.docker, .containerd, .crio, .storage]
        }
        for store in stores {
            if let name = name(of: id.full, in: store), !name.isEmpty { return name }
        }
        return nil
    }

    private enum Store { case docker, containerd, crio, storage }

    private func name(of id: String, in store: Store) -> String? {
        switch store {
        case .docker:
            return read("/var/lib/docker/containers/\(id)/config.v2.json").flatMap(Self.dockerName(configV2:))
        case .containerd:
            // The task's bundle, in whichever containerd namespace made it (k8s.io, moby, default).
            let tasks = "/run/containerd/io.containerd.runtime.v2.task"
            for namespace in directoryNames(tasks) {
                if let config = read("\(tasks)/\(namespace)/\(id)/config.json") { return Self.annotatedName(ociConfig: config) }
            }
            return nil
        case .crio:
            for base in ["/run/containers/storage", "/var/lib/containers/storage"] {
                if let config = read("\(base)/overlay-containers/\(id)/userdata/config.json") {
                    return Self.annotatedName(ociConfig: config)
                }
            }
            return nil
        case .storage:
            return read("/var/lib/containers/storage/overlay-containers/containers.json", limit: 64 << 20)
                .flatMap { Self.storageName(containersJSON: $0, id: id) }
        }
    }

    private func read(_ path: String, limit: Int = 4 << 20) -> String? {
        readText(root + path, limit: limit)
    }

    private func directoryNames(_ path: String) -> [String] {
        ContainerResolver.entries(of: root + path).filter { !$0.hasPrefix(".") }
    }

    // MARK: The runtimes' files, parsed (pure)

    /// Docker's `config.v2.json`: its "Name" is "/name".
    static func dockerName(configV2 text: String) -> String? {
        struct Config: Decodable { let Name: String? }
        guard let name = decode(Config.self, text)?.Name else { return nil }
        return name.hasPrefix("/") ? String(name.dropFirst()) : name
    }

    /// An OCI runtime config's annotations, as containerd's CRI plugin,
    /// cri-o and nerdctl write them: "pod/container" for Kubernetes (the pod
    /// alone for its sandbox), nerdctl's own name otherwise.
    static func annotatedName(ociConfig text: String) -> String? {
        struct Config: Decodable { let annotations: [String: String]? }
        guard let a = decode(Config.self, text)?.annotations else { return nil }
        let pod = a["io.kubernetes.cri.sandbox-name"] ?? a["io.kubernetes.pod.name"]
        let container = a["io.kubernetes.cri.container-name"] ?? a["io.kubernetes.container.name"]
        if let pod {
            guard let container, container != "POD" else { return pod }
            return "\(pod)/\(container)"
        }
        return a["nerdctl/name"]
    }

    /// containers/storage's `containers.json` (podman, cri-o): the first of the container's names.
    static func storageName(containersJSON text: String, id: String) -> String? {
        struct Entry: Decodable { let id: String; let names: [String]? }
        return decode([Entry].self, text)?.first { $0.id == id }?.names?.first
    }

    private static func decode<T: Decodable>(_ type: T.Type, _ text: String) -> T? {
        try? JSONDecoder().decode(type, from: Data(text.utf8))
    }
}
