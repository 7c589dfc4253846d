public import Foundation

/// A fresh directory under the system's temp directory, removed with everything in it when the
/// value is released (keep it alive for as long as the test uses the files).
public final class TempDirectory: Sendable {
    public let url: URL
    public var path: String { url.path }

    public init() {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("alicedb-test-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(at: url) }
}
