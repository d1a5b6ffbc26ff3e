import Foundation
import TestSupport

extension Repository {
    static let fixtures = root.appendingPathComponent("Tests/PipelineTests/Fixtures")
    /// A backend that delays a known path by a known time.
    static let backend = fixture("PipelineTests", "backend.py")
    /// A client that measures its own request times.
    static let client = fixture("PipelineTests", "client.py")
}
