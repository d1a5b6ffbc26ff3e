import TestSupport

extension Repository {
    static let fixtures = root.appendingPathComponent("Tests/ExporterTests/Fixtures").path
}
