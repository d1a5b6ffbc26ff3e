import Foundation

/// Headless Chromium (Debian's `chromium`) as the judge of a page: the DOM
/// after it rendered, what it wrote to the console, and a screenshot.
public enum Chromium {
    public static var available: Bool { Repository.which("chromium") != nil }

    /// A page as Chromium rendered it.
    public struct Page {
        /// The DOM after loading (`--dump-dom`).
        public var dom: String
        /// Every console message (script errors, Content-Security-Policy violations): a page
        /// with no script of its own should have none.
        public var console: [String]
    }

    /// Opens `path`, returns its DOM and console, and saves a `width`×`height` screenshot to `screenshot`.
    public static func open(_ path: String, screenshot: String, width: Int = 1280, height: Int = 1600) throws -> Page {
        let profile = NSTemporaryDirectory() + "pipetrace-chromium-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: profile) }
        // As root Chromium runs only without its sandbox; the page is our own file.
        let common = ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--hide-scrollbars",
                      "--user-data-dir=\(profile)", "--enable-logging=stderr", "--v=0"]
        let dump = try Child(common + ["--dump-dom", URL(fileURLWithPath: path).absoluteString])
        let dom = dump.readAll()
        let errors = dump.readAllErrors()
        let dumped = dump.wait()
        guard dumped == 0 else { throw Shell.Failure(command: common, status: dumped, stderr: errors) }
        try? FileManager.default.removeItem(atPath: screenshot)
        let shot = try Child(common + ["--window-size=\(width),\(height)", "--screenshot=\(screenshot)",
                                       URL(fileURLWithPath: path).absoluteString])
        _ = shot.readAll()
        let shotErrors = shot.readAllErrors()
        let shotStatus = shot.wait()
        guard shotStatus == 0 else { throw Shell.Failure(command: common, status: shotStatus, stderr: shotErrors) }
        let console = (errors + shotErrors).split(separator: "\n").filter { $0.contains(":CONSOLE") }.map(String.init)
        return Page(dom: dom, console: console)
    }

    /// `.build/<folder>/`, beside the test log, made if missing: where tests keep what they show.
    public static func artifactDirectory(_ folder: String) throws -> String {
        let path = Repository.root.appendingPathComponent(".build/\(folder)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }
}
