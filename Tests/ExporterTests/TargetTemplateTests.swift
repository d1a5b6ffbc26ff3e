import Testing
@testable import Exporter
@testable import ExporterCore

@Suite("Target templates keep label values few")
struct TargetTemplateTests {
    @Test("ids, numbers, hex and UUIDs become {id}; the query goes", arguments: [
        ("/api/v1/write", "/api/v1/write"),
        ("/api/v1/query?query=up&time=17", "/api/v1/query"),
        ("/users/123/orders/9f1c2e4a", "/users/{id}/orders/{id}"),
        ("/t/550e8400-e29b-41d4-a716-446655440000", "/t/{id}"),
        ("/feed/deadbeef", "/feed/deadbeef"),
        ("/a/b/c/d/e/f", "/a/b/c/d/…"),
        ("http://vm:8428/api/v1/import?x=1", "/api/v1/import"),
        ("*", "*"),
        ("", ""),
        ("/", "/"),
    ])
    func templates(_ target: String, _ expected: String) {
        #expect(TargetTemplate.make(target) == expected)
    }

    @Test("past maxTargets per server, new templates count as {other}")
    func bounded() {
        var metrics = RequestMetrics(maxTargets: 2)
        var store = SeriesStore()
        for path in ["/a", "/b", "/c", "/d", "/a"] {
            store.apply(metrics.updates(for: record(ms: 1, target: path)))
        }
        let targets = Set(store.timeSeries(at: 0).compactMap { $0.labels.first { $0.name == "target" }?.value })
        #expect(targets == ["/a", "/b", "{other}"])
    }
}
