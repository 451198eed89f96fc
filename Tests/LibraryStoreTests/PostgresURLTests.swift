import Testing
import LibraryStore

/// `--db` URLs as libpq reads them (https://www.postgresql.org/docs/current/libpq-connect.html#LIBPQ-CONNSTRING-URIS).
@Suite("PostgreSQL URLs")
struct PostgresURLTests {
    @Test func socketFolderAsParameterOrEncodedHost() throws {
        let url = try PostgresURL("postgresql://postgres@/library?host=/tmp/pg%20dir&port=5433", environment: [:])
        #expect(url.host == "/tmp/pg dir" && url.port == 5433 && url.user == "postgres" && url.database == "library")
        #expect(url.isUnixSocket && url.socketPath == "/tmp/pg dir/.s.PGSQL.5433" && url.tls == .disable)
        let encoded = try PostgresURL("postgres://%2Fvar%2Frun%2Fpostgresql/photos", environment: ["USER": "bob"])
        #expect(encoded.host == "/var/run/postgresql" && encoded.port == 5432 && encoded.user == "bob" && encoded.database == "photos")
    }

    @Test func tcpWithPasswordPortAndSSLMode() throws {
        let url = try PostgresURL("postgres://alice:p%40ss%3Aw@db.example:6543/photos?sslmode=require&application_name=x",
                                  environment: [:])
        #expect(url.host == "db.example" && url.port == 6543 && url.user == "alice" && url.password == "p@ss:w")
        #expect(url.database == "photos" && url.tls == .require && !url.isUnixSocket)
        #expect(!url.redacted.contains("p@ss") && url.redacted == "postgresql://alice@db.example:6543/photos")
        let v6 = try PostgresURL("postgresql://[::1]:5555/x?user=carol&password=secret&dbname=y", environment: [:])
        #expect(v6.host == "::1" && v6.port == 5555 && v6.user == "carol" && v6.password == "secret" && v6.database == "y")
        #expect(v6.tls == .prefer)
    }

    @Test func defaultsFollowLibpqAndTheEnvironment() throws {
        let url = try PostgresURL("postgresql://", environment: ["PGHOST": "/sockets", "PGPORT": "6000", "PGUSER": "dan", "PGPASSWORD": "pw"])
        #expect(url.host == "/sockets" && url.port == 6000 && url.user == "dan" && url.password == "pw" && url.database == "dan")
        let plain = try PostgresURL("postgresql://localhost", environment: ["USER": "erin"])
        #expect(plain.host == "localhost" && plain.port == 5432 && plain.user == "erin" && plain.database == "erin")
    }

    @Test func refusesWhatItCannotHonour() {
        for text in ["mysql://h/db", "postgresql://h1,h2/db", "postgresql://h/db?sslmode=verify-full", "postgresql://h/db?options=-c%20x",
                     "postgresql://h:abc/db", "postgresql://h:70000/db", "postgresql://h/db%zz"] {
            #expect(throws: LibraryStoreError.self, "\(text)") { try PostgresURL(text, environment: [:]) }
        }
        #expect(PostgresURL.isPostgres("postgres://x") && PostgresURL.isPostgres("POSTGRESQL://x"))
        #expect(!PostgresURL.isPostgres("data/postgres.sqlite") && !PostgresURL.isPostgres("postgres"))
    }
}
