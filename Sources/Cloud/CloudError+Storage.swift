internal import AliceDB
internal import HTTPTypes
internal import ReadAPI

/// The store's, the engine's and the read API's errors as HTTP statuses, in one place for every route handler.
extension CloudError {
    /// Engine and store errors (`AliceDBError`) as HTTP statuses (`QueryError.http`); a `CloudError` stays as it is.
    static func http(_ error: any Error) -> CloudError {
        if let e = error as? CloudError { return e }
        return CloudError(QueryError.http(error))
    }

    /// Runs a storage call, turning its errors into HTTP statuses.
    static func storage<T>(_ body: () async throws -> T) async throws(CloudError) -> T {
        do { return try await body() } catch { throw CloudError.http(error) }
    }

    /// The read API's refusal as the node's: the same status, code, message, headers, cause and place.
    init(_ e: QueryError) {
        var headers = HTTPFields()
        for h in e.headers {
            if let name = HTTPField.Name(h.name) { headers.append(HTTPField(name: name, value: h.value)) }
        }
        self.init(
            HTTPResponse.Status(code: e.status.code, reasonPhrase: e.status.reason), e.message, code: e.code,
            headers: headers, cause: e.cause)
        location = e.location
    }

    /// The node's refusal as the read API's (for answers in Prometheus's shape).
    var queryError: QueryError {
        var e = QueryError(
            QueryError.Status(status.code, status.reasonPhrase), message, code: code,
            headers: headers.map { (name: $0.name.rawName, value: $0.value) }, cause: cause)
        e.location = location
        return e
    }
}
