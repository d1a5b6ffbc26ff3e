import Analyzer
import Events

/// `stat --group-by consumer`'s Kafka consumer lag: per consumer, topic and
/// partition, messages behind at its last Fetch, behind its last commit,
/// and the age of the lag where the produce of its next record was seen.
extension StatReport {
    /// Lags sorted by consumer, topic, partition.
    var lags: [(key: ConsumerLag.Key, value: ConsumerLag.Value)] {
        (consumerLag?.lags ?? [:]).sorted {
            ($0.key.consumer, $0.key.topic, $0.key.partition) < ($1.key.consumer, $1.key.topic, $1.key.partition)
        }
    }

    func lagText() -> String {
        let lags = lags
        guard !lags.isEmpty else { return "" }
        var out = "\nconsumer lag (Kafka)\n"
        out += RecordFormatter.pad("consumer", 24) + RecordFormatter.pad("topic[partition]", 28)
        for c in ["messages", "committed", "age s"] { out += RecordFormatter.leftPad(c, 12) }
        out += "\n"
        for (key, value) in lags {
            out += RecordFormatter.pad(key.consumer, 24) + RecordFormatter.pad("\(key.topic)[\(key.partition)]", 28)
            out += RecordFormatter.leftPad(value.messages.map(String.init) ?? "-", 12)
            out += RecordFormatter.leftPad(value.committed.map(String.init) ?? "-", 12)
            out += RecordFormatter.leftPad(value.age.map { RecordFormatter.fixed(Double($0) / 1e9, decimals: 3) } ?? "-", 12)
            out += "\n"
        }
        return out
    }

    /// `"consumer_lag": [{"consumer", "topic", "partition", "messages", "committed", "age_s"}]`, fields unknown left out.
    func writeLag(into w: inout JSONWriter) {
        guard consumerLag != nil else { return }
        w.beginArray("consumer_lag")
        for (key, value) in lags {
            w.beginObject()
            w.field("consumer", key.consumer)
            w.field("topic", key.topic)
            w.field("partition", Int64(key.partition))
            if let messages = value.messages { w.field("messages", messages) }
            if let committed = value.committed { w.field("committed", committed) }
            if let age = value.age { w.field("age_s", Double(age) / 1e9, decimals: 3) }
            w.endObject()
        }
        w.endArray()
    }
}
