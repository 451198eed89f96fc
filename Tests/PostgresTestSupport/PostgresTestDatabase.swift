import Foundation
import LibraryStore
import Logging
import NIOPosix
import PostgresNIO

/// A fresh database per test on the server `CLIP_TEST_POSTGRES_URL` names (tools/pg-test-server.sh
/// starts one and prints it; `.ci/run` sets it). Tests that need it are skipped when it is unset.
public enum PostgresTestDatabase {
    public static let environmentKey = "CLIP_TEST_POSTGRES_URL"

    /// The server's URL, when the tests are to run against one.
    public static var serverURL: String? {
        ProcessInfo.processInfo.environment[environmentKey].flatMap { $0.isEmpty ? nil : $0 }
    }

    public static var isAvailable: Bool { serverURL != nil }

    /// Creates an empty database and returns its URL (same server, user and socket).
    public static func create() async throws -> String {
        let server = try PostgresURL(try requireURL())
        let name = "clip_test_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
        try await admin(server) { connection in
            try await connection.query("CREATE DATABASE \(unescaped: name)", logger: logger)
        }
        return url(server, database: name)
    }

    /// Drops a database `create()` made (its stores must be gone).
    public static func drop(_ url: String) async {
        guard let target = try? PostgresURL(url), let server = try? PostgresURL(try requireURL()) else { return }
        try? await admin(server) { connection in
            try await connection.query("DROP DATABASE IF EXISTS \(unescaped: target.database) WITH (FORCE)", logger: logger)
        }
    }

    /// `url` with another database name.
    public static func url(_ server: PostgresURL, database: String) -> String {
        let user = server.user.addingPercentEncoding(withAllowedCharacters: .urlUserAllowed) ?? server.user
        let password = server.password.map { ":" + ($0.addingPercentEncoding(withAllowedCharacters: .urlPasswordAllowed) ?? $0) } ?? ""
        if server.isUnixSocket {
            return "postgresql://\(user)\(password)@/\(database)?host=\(server.host)&port=\(server.port)"
        }
        let host = server.host.contains(":") ? "[\(server.host)]" : server.host
        return "postgresql://\(user)\(password)@\(host):\(server.port)/\(database)?sslmode=\(server.tls.rawValue)"
    }

    private static let logger = Logger(label: "clip-test-postgres", factory: { _ in SwiftLogNoOpLogHandler() })

    private static func requireURL() throws -> String {
        guard let url = serverURL else { throw MissingServer() }
        return url
    }

    struct MissingServer: Error, CustomStringConvertible {
        var description: String { "\(environmentKey) is not set (eval \"$(tools/pg-test-server.sh start)\")" }
    }

    private static func admin(_ server: PostgresURL, _ body: (PostgresConnection) async throws -> Void) async throws {
        let configuration: PostgresConnection.Configuration = server.isUnixSocket
            ? .init(unixSocketPath: server.socketPath, username: server.user, password: server.password, database: server.database)
            : .init(host: server.host, port: server.port, username: server.user, password: server.password,
                    database: server.database, tls: .disable)
        let connection = try await PostgresConnection.connect(on: MultiThreadedEventLoopGroup.singleton.next(), configuration: configuration,
                                                              id: 1, logger: logger)
        do {
            try await body(connection)
        } catch {
            try? await connection.close()
            throw error
        }
        try await connection.close()
    }
}
