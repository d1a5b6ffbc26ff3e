/// Kafka's API keys (the request header's first field): each one's name and
/// the first version that is "flexible" (KIP-482: compact strings and
/// arrays, tagged fields, request header v2 and response header v1).
enum KafkaAPI {
    static let produce: Int16 = 0
    static let fetch: Int16 = 1
    static let listOffsets: Int16 = 2
    static let metadata: Int16 = 3
    static let offsetCommit: Int16 = 8
    static let offsetFetch: Int16 = 9
    static let findCoordinator: Int16 = 10
    static let joinGroup: Int16 = 11
    static let heartbeat: Int16 = 12
    static let leaveGroup: Int16 = 13
    static let syncGroup: Int16 = 14
    static let controlledShutdown: Int16 = 7
    static let apiVersions: Int16 = 18

    /// Name and first flexible version (nil: never flexible), by API key.
    static let table: [(name: String, flexibleFrom: Int16?)] = [
        ("Produce", 9), ("Fetch", 12), ("ListOffsets", 6), ("Metadata", 9), ("LeaderAndIsr", 4),
        ("StopReplica", 2), ("UpdateMetadata", 6), ("ControlledShutdown", 3), ("OffsetCommit", 8),
        ("OffsetFetch", 6), ("FindCoordinator", 3), ("JoinGroup", 6), ("Heartbeat", 4), ("LeaveGroup", 4),
        ("SyncGroup", 4), ("DescribeGroups", 5), ("ListGroups", 3), ("SaslHandshake", nil), ("ApiVersions", 3),
        ("CreateTopics", 5), ("DeleteTopics", 4), ("DeleteRecords", 2), ("InitProducerId", 2),
        ("OffsetForLeaderEpoch", 4), ("AddPartitionsToTxn", 3), ("AddOffsetsToTxn", 3), ("EndTxn", 3),
        ("WriteTxnMarkers", 1), ("TxnOffsetCommit", 3), ("DescribeAcls", 2), ("CreateAcls", 2), ("DeleteAcls", 2),
        ("DescribeConfigs", 4), ("AlterConfigs", 2), ("AlterReplicaLogDirs", 2), ("DescribeLogDirs", 2),
        ("SaslAuthenticate", 2), ("CreatePartitions", 2), ("CreateDelegationToken", 2),
        ("RenewDelegationToken", 2), ("ExpireDelegationToken", 2), ("DescribeDelegationToken", 2),
        ("DeleteGroups", 2), ("ElectLeaders", 2), ("IncrementalAlterConfigs", 1),
        ("AlterPartitionReassignments", 0), ("ListPartitionReassignments", 0), ("OffsetDelete", nil),
        ("DescribeClientQuotas", 1), ("AlterClientQuotas", 1), ("DescribeUserScramCredentials", 0),
        ("AlterUserScramCredentials", 0), ("Vote", 0), ("BeginQuorumEpoch", 0), ("EndQuorumEpoch", 0),
        ("DescribeQuorum", 0), ("AlterPartition", 0), ("UpdateFeatures", 0), ("Envelope", 0),
        ("FetchSnapshot", 0), ("DescribeCluster", 0), ("DescribeProducers", 0), ("BrokerRegistration", 0),
        ("BrokerHeartbeat", 0), ("UnregisterBroker", 0), ("DescribeTransactions", 0), ("ListTransactions", 0),
        ("AllocateProducerIds", 0), ("ConsumerGroupHeartbeat", 0), ("ConsumerGroupDescribe", 0),
        ("ControllerRegistration", 0), ("GetTelemetrySubscriptions", 0), ("PushTelemetry", 0),
        ("AssignReplicasToDirs", 0), ("ListClientMetricsResources", 0), ("DescribeTopicPartitions", 0),
    ]

    /// The highest version any API has had so far is below this: a larger one is no Kafka header.
    static let maxVersion: Int16 = 32

    static func isKnown(_ key: Int16) -> Bool { key >= 0 && Int(key) < table.count }

    /// The API's name; "unknown" for a key this table does not have.
    static func name(_ key: Int16) -> String { isKnown(key) ? table[Int(key)].name : "unknown" }

    static func isFlexible(_ key: Int16, _ version: Int16) -> Bool {
        guard isKnown(key), let from = table[Int(key)].flexibleFrom else { return false }
        return version >= from
    }

    /// Request header v0 (no client id) is ControlledShutdown v0's alone.
    static func requestHasClientID(_ key: Int16, _ version: Int16) -> Bool {
        !(key == controlledShutdown && version == 0)
    }

    /// ApiVersions answers with response header v0 in every version, so a
    /// client that does not know the broker's versions can read it.
    static func responseHasTags(_ key: Int16, _ version: Int16) -> Bool {
        key != apiVersions && isFlexible(key, version)
    }

    /// The group APIs whose request starts with the group id (OffsetFetch
    /// v8 and later name several groups in a list; OffsetDelete is 47).
    static func startsWithGroupID(_ key: Int16, _ version: Int16) -> Bool {
        [offsetCommit, joinGroup, heartbeat, leaveGroup, syncGroup, 47].contains(key)
            || key == offsetFetch && version < 8
    }
}
