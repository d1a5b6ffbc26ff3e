/// Prometheus remote write 1.0's `WriteRequest` (prometheus/prompb
/// remote.proto and types.proto), only the fields pipetrace sends:
///
///     message WriteRequest { repeated TimeSeries timeseries = 1; }
///     message TimeSeries   { repeated Label labels = 1; repeated Sample samples = 2; }
///     message Label        { string name = 1; string value = 2; }
///     message Sample       { double value = 1; int64 timestamp = 2; }
public struct RemoteWriteRequest: Sendable, Hashable {
    public var timeSeries: [TimeSeries]

    public init(timeSeries: [TimeSeries]) {
        self.timeSeries = timeSeries
    }

    /// Samples in the request.
    public var pointCount: Int { timeSeries.reduce(0) { $0 + $1.samples.count } }

    /// The protobuf bytes (before snappy).
    public func encoded() -> [UInt8] {
        var w = ProtobufWriter()
        for series in timeSeries {
            w.messageField(1) { ts in
                for label in series.labels {
                    ts.messageField(1) { l in
                        l.stringField(1, label.name)
                        l.stringField(2, label.value)
                    }
                }
                for sample in series.samples {
                    ts.messageField(2) { s in
                        s.doubleField(1, sample.value)
                        s.int64Field(2, sample.timestamp)
                    }
                }
            }
        }
        return w.bytes
    }
}
