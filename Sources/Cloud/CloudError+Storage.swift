internal import AliceDB
internal import HTTPTypes

/// The store's and the engine's errors as HTTP statuses, in one place for every route handler.
extension CloudError {
    /// Engine and store errors (`AliceDBError`) as HTTP statuses; a `CloudError` stays as it is.
    static func http(_ error: any Error) -> CloudError {
        if let e = error as? CloudError { return e }
        guard let e = error as? AliceDBError else { return CloudError(.internalServerError, "\(error)", cause: error) }
        switch e.code {
        case .notFound: return CloudError(.notFound, e.message, cause: e)
        case .invalidArgument, .badInput: return CloudError(.badRequest, e.message, cause: e)
        case .diskFull:
            return CloudError(HTTPResponse.Status(code: 507, reasonPhrase: "Insufficient Storage"), "\(e)", cause: e)
        case .unavailable: return CloudError(.serviceUnavailable, e.message, headers: [.retryAfter: "5"], cause: e)
        default: return CloudError(.internalServerError, "\(e)", cause: e)
        }
    }

    /// Runs a storage call, turning its errors into HTTP statuses.
    static func storage<T>(_ body: () async throws -> T) async throws(CloudError) -> T {
        do { return try await body() } catch { throw CloudError.http(error) }
    }
}
