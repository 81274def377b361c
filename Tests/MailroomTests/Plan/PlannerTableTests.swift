import Testing

@testable import MailroomHost
@testable import MailroomPlan
@testable import MailroomRender
@testable import MailroomSpec
@testable import MailroomSupport

extension PureTests {
    /// `Planner.plan` on hand-built desired and actual states: no podman, no disk.
    ///
    /// The spec: `web` (reads app.env, a read-only overrides directory, 1g of memory,
    /// depends on `db`) written before `db`; app.env and site.conf generated; network
    /// `appnet` with 10.77.0.0/24 and fd42:77::/64.
    @Suite(.tags(.pure))
    struct PlannerTableTests {
        static let envPath = "/srv/app/app.env"
        static let sitePath = "/srv/app/site.conf"
        static let overrides = "/srv/app/overrides/"
        static let env = "A=1\nB=2\n"

        static func explicit(webMemory: String = "1g", env: String = env, secret: String? = nil) -> ExplicitSpec {
            let network = NetworkSpec(
                name: "appnet", subnet: "10.77.0.0/24", gateway: "10.77.0.1", subnet6: "fd42:77::/64",
                gateway6: "fd42:77::1", dns: false, location: PureTests.origin)
            let web = PureTests.definition("web", image: "localhost/app/web:1", network: "appnet") { c in
                c.ip = "10.77.0.3"
                c.envFiles = [envPath]
                c.volumes = ["\(overrides):/overrides/:ro"]
                c.ports = ["127.0.0.1:8080:80/tcp"]
                c.memory = webMemory
                c.restart = "always"
                c.dependsOn = ["db"]
            }
            let db = PureTests.definition("db", image: "localhost/app/db:1", network: "appnet") { c in
                c.ip = "10.77.0.2"
                c.volumes = ["/srv/app/db/:/var/lib/db/"]
                c.restart = "always"
            }
            let files = [
                FileDefinition(path: envPath, content: env, mode: 0o600, redactions: secret.map { [$0] } ?? []),
                FileDefinition(
                    path: sitePath, content: "listen 80\n",
                    reload: FileDefinition.Reload(container: "web", command: ["kill", "-HUP", "1"])),
            ]
            return ExplicitSpec(network: network, containers: [web, db], files: files, directories: ["/srv/app/db/"])
        }

        static func desired(webMemory: String = "1g", env: String = env, secret: String? = nil) -> DesiredState {
            Renderer.render(explicit(webMemory: webMemory, env: env, secret: secret), unitsDirectory: "/units")
        }

        /// The host, built up row by row.
        struct Host {
            var engine: String? = "podman"
            var network: NetworkSummary?
            var containers: [ObservedContainer] = []
            var files: [String: ObservedFile] = [:]
            var digests: [String: String] = [PlannerTableTests.overrides: "digest-1"]
            var missingDirectories: [String] = []
            var applied = AppliedState()
            var systemd = false

            var state: ActualState {
                ActualState(
                    engine: engine, network: network,
                    containers: Dictionary(containers.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a }),
                    files: files, contentDigests: digests, missingDirectories: missingDirectories, applied: applied,
                    systemd: systemd)
            }

            /// A container as the observer reports it: labelled (managed) with `hash`, or made by hand.
            mutating func add(
                _ name: String, managed: Bool, hash: String? = nil, state: String = "running",
                networks: [String] = ["appnet"],
                inspection: ContainerInspection? = nil
            ) throws {
                var labels: [String: String] = [:]
                if managed { labels[PodmanArguments.managedLabel] = "true" }
                if let hash { labels[PodmanArguments.hashLabel] = hash }
                let summary = try PureTests.summary(name, state: state, labels: labels, networks: networks)
                containers.append(
                    ObservedContainer(
                        summary: summary, inspection: inspection, managed: managed, configHash: managed ? hash : nil))
            }

            mutating func record(_ name: String, arguments: [String], hash: String) {
                applied.containers[name] = AppliedState.AppliedContainer(
                    arguments: arguments, configHash: hash, containerID: nil)
            }
        }

        /// A host where everything but `web` is as applied: network, files, and `db` running.
        static func syncedHost(_ desired: DesiredState) throws -> Host {
            var host = Host()
            host.network = try PureTests.networkSummary("appnet", subnets: ["10.77.0.0/24", "fd42:77::/64"])
            for file in desired.files { host.files[file.path] = ObservedFile(content: file.content, mode: file.mode) }
            host.applied.files = desired.files.map(\.path)
            let db = try #require(desired.container(named: "db"))
            let hash = Planner.configHash(db, actual: host.state)
            try host.add("db", managed: true, hash: hash)
            host.record("db", arguments: db.arguments, hash: hash)
            return host
        }

        /// What podman inspect shows for `web` made by hand from the spec's flags.
        static func inspection(memory: Int64 = 1 << 30, env: [String] = ["A=1", "B=2"], running: Bool = true)
            -> ContainerInspection
        {
            ContainerInspection(
                id: "0123456789ab", name: "web", imageName: "localhost/app/web:1",
                state: .init(status: running ? "running" : "exited", running: running, exitCode: 0, health: nil),
                config: .init(
                    hostname: "0123456789ab", env: env + ["PATH=/usr/bin:/bin", "container=podman"], labels: [:],
                    cmd: [], healthcheck: []),
                hostConfig: .init(
                    binds: ["/srv/app/overrides:/overrides/:ro,rprivate,rbind"], dns: [],
                    portBindings: ["80/tcp": [.init(hostIP: "127.0.0.1", hostPort: "8080")]], restartPolicy: "always",
                    memory: memory, memoryReservation: 0, cpuShares: 0, logType: "k8s-file", logTag: ""),
                networks: [
                    "appnet": .init(
                        ipAddress: running ? "10.77.0.3" : "", globalIPv6Address: running ? "fd42:77::5" : "")
                ])
        }

        static func change(_ plan: Plan, _ name: String) throws -> ContainerChange {
            try #require(plan.containers.first { $0.name == name })
        }

        // MARK: Containers

        struct ContainerRow: Sendable, CustomTestStringConvertible {
            var label: String
            /// Puts `web` (and its record) on a synced host; gets `web`'s desired config hash.
            var setUp: @Sendable (inout Host, DesiredContainer, String) throws -> Void
            var action: ContainerChange.Action
            var reasons: [String]
            var fields: [FieldChange] = []
            var testDescription: String { label }
        }

        static let memoryField = FieldChange(field: "memory", removed: ["536870912"], added: ["1073741824"])

        static let containerRows: [ContainerRow] = [
            ContainerRow(label: "absent", setUp: { _, _, _ in }, action: .create, reasons: ["not on the host"]),
            ContainerRow(
                label: "applied, running",
                setUp: { host, web, hash in
                    try host.add("web", managed: true, hash: hash)
                    host.record("web", arguments: web.arguments, hash: hash)
                }, action: .inSync, reasons: []),
            ContainerRow(
                label: "applied, exited",
                setUp: { host, web, hash in
                    try host.add("web", managed: true, hash: hash, state: "exited")
                    host.record("web", arguments: web.arguments, hash: hash)
                }, action: .start, reasons: ["exited"]),
            ContainerRow(
                label: "applied with other arguments",
                setUp: { host, _, _ in
                    try host.add("web", managed: true, hash: "old")
                    let old = try #require(PlannerTableTests.desired(webMemory: "512m").container(named: "web"))
                    host.record("web", arguments: old.arguments, hash: "old")
                }, action: .recreate, reasons: ["arguments changed: memory"],
                fields: [FieldChange(field: "memory", removed: ["512m"], added: ["1g"])]),
            ContainerRow(
                label: "its env file changes",
                setUp: { host, web, _ in
                    try host.add("web", managed: true, hash: "old")
                    host.record("web", arguments: web.arguments, hash: "old")
                    host.files[PlannerTableTests.envPath] = ObservedFile(content: "A=1\nB=1\n", mode: 0o600)
                }, action: .recreate, reasons: ["app.env changed"]),
            ContainerRow(
                label: "its read-only mount changed",
                setUp: { host, web, _ in
                    try host.add("web", managed: true, hash: "old")
                    host.record("web", arguments: web.arguments, hash: "old")
                }, action: .recreate, reasons: ["content of /srv/app/overrides/ changed"]),
            ContainerRow(
                label: "labelled, but not in the record",
                setUp: { host, _, _ in
                    try host.add("web", managed: true, hash: "stale")
                }, action: .recreate, reasons: ["config hash changed"]),
            ContainerRow(
                label: "applied, then changed by hand",
                setUp: { host, web, _ in
                    try host.add(
                        "web", managed: true, hash: "by-hand",
                        inspection: PlannerTableTests.inspection(memory: 512 << 20))
                    host.record("web", arguments: web.arguments, hash: "old")
                }, action: .recreate, reasons: ["changed outside Mailroom"], fields: [memoryField]),
            ContainerRow(
                label: "made by hand, matching, running",
                setUp: { host, _, _ in
                    try host.add("web", managed: false, inspection: PlannerTableTests.inspection())
                }, action: .adopt,
                reasons: ["made outside Mailroom; matches the spec, so it is adopted without a restart"]),
            // A stopped container reports no address (see Fixtures/inspect/exited.json), so its
            // ip reads as changed.
            ContainerRow(
                label: "made by hand, matching, exited",
                setUp: { host, _, _ in
                    try host.add(
                        "web", managed: false, state: "exited", inspection: PlannerTableTests.inspection(running: false)
                    )
                }, action: .recreate, reasons: ["made outside Mailroom; differs from the spec"],
                fields: [FieldChange(field: "ip", removed: [""], added: ["10.77.0.3"])]),
            ContainerRow(
                label: "made by hand, other memory",
                setUp: { host, _, _ in
                    try host.add("web", managed: false, inspection: PlannerTableTests.inspection(memory: 512 << 20))
                }, action: .recreate, reasons: ["made outside Mailroom; differs from the spec"], fields: [memoryField]),
            ContainerRow(
                label: "made by hand, other env value",
                setUp: { host, _, _ in
                    try host.add("web", managed: false, inspection: PlannerTableTests.inspection(env: ["A=1", "B=3"]))
                }, action: .recreate, reasons: ["made outside Mailroom; differs from the spec"],
                fields: [FieldChange(field: "env", removed: ["B=3"], added: ["B=2"])]),
            ContainerRow(
                label: "made by hand, not inspected",
                setUp: { host, _, _ in
                    try host.add("web", managed: false)
                }, action: .recreate, reasons: ["made outside Mailroom"]),
        ]

        @Test(arguments: containerRows)
        func container(_ row: ContainerRow) throws {
            let desired = Self.desired()
            var host = try Self.syncedHost(desired)
            let web = try #require(desired.container(named: "web"))
            let hash = Planner.configHash(web, actual: host.state)
            try row.setUp(&host, web, hash)
            let plan = Planner.plan(desired: desired, actual: host.state)

            let change = try Self.change(plan, "web")
            #expect(change.action == row.action)
            #expect(change.reasons == row.reasons)
            #expect(change.fields == row.fields)
            #expect(change.level == 1)
            #expect(change.arguments == web.arguments)
            #expect(change.configHash == hash)
            #expect(try Self.change(plan, "db").action == .inSync)
            #expect(plan.containers.map(\.name) == ["db", "web"])
        }

        /// A hand-made container that matches, but is not running, is recreated: this one
        /// has no address to compare, but even with nothing differing it is not adopted.
        @Test func handMadeMatchingButStoppedIsNotAdopted() throws {
            let desired = Self.desired()
            var host = try Self.syncedHost(desired)
            var stopped = Self.inspection()
            stopped.state = .init(status: "exited", running: false, exitCode: 0, health: nil)
            try host.add("web", managed: false, state: "exited", inspection: stopped)
            let change = try Self.change(Planner.plan(desired: desired, actual: host.state), "web")
            #expect(change.action == .recreate)
            #expect(change.reasons == ["made outside Mailroom and not running"])
            #expect(change.fields == [])
        }

        @Test func configHashFollowsContentInputs() throws {
            let web = try #require(Self.desired().container(named: "web"))
            var host = Host()
            let first = Planner.configHash(web, actual: host.state)
            #expect(first.count == 32)
            #expect(Planner.configHash(web, actual: host.state) == first)
            host.digests[Self.overrides] = "digest-2"
            #expect(Planner.configHash(web, actual: host.state) != first)
            host.digests = [:]  // missing reads as "missing", not as the old digest
            #expect(Planner.configHash(web, actual: host.state) != first)
            let otherMemory = try #require(Self.desired(webMemory: "2g").container(named: "web"))
            #expect(Planner.configHash(otherMemory, actual: Host().state) != first)
            let otherEnv = try #require(Self.desired(env: "A=1\nB=3\n").container(named: "web"))
            #expect(Planner.configHash(otherEnv, actual: Host().state) != first)
        }

        @Test func emptyHostCreatesEverythingInStartOrder() throws {
            let desired = Self.desired()
            let plan = Planner.plan(desired: desired, actual: Host(engine: nil).state, warnings: ["first"])
            #expect(
                plan.network == NetworkChange(name: "appnet", action: .create, arguments: desired.network.arguments))
            #expect(
                desired.network.arguments == [
                    "network", "create", "--ipv6", "--gateway", "fd42:77::1", "--subnet", "fd42:77::/64", "--gateway",
                    "10.77.0.1",
                    "--subnet", "10.77.0.0/24", "--disable-dns", "appnet",
                ])
            // Spec order is web, db; db starts first.
            #expect(plan.containers.map(\.name) == ["db", "web"])
            #expect(plan.containers.map(\.level) == [0, 1])
            #expect(plan.containers.allSatisfy { $0.action == .create && $0.reasons == ["not on the host"] })
            #expect(plan.files.map(\.path) == [Self.envPath, Self.sitePath])
            #expect(plan.files.allSatisfy { $0.action == .create && $0.kind == .file })
            #expect(plan.files[0].diff == "@@ -0,0 +1,2 @@\n+A=1\n+B=2")
            #expect(plan.files[0].mode == 0o600)
            #expect(plan.files[1].reload == FileDefinition.Reload(container: "web", command: ["kill", "-HUP", "1"]))
            #expect(plan.runner == .direct)
            #expect(plan.warnings == ["first", "podman is not installed: planned against an empty host"])
            #expect(plan.conflicts == [])
            #expect(
                plan.summary
                    == Plan.Summary(
                        network: 1, create: 2, recreate: 0, start: 0, adopt: 0, remove: 0, inSync: 0,
                        filesToWrite: 2, filesToDelete: 0, directories: 0))
        }

        @Test func syncedHostHasNoChanges() throws {
            let desired = Self.desired()
            var host = try Self.syncedHost(desired)
            let web = try #require(desired.container(named: "web"))
            let hash = Planner.configHash(web, actual: host.state)
            try host.add("web", managed: true, hash: hash)
            host.record("web", arguments: web.arguments, hash: hash)
            let plan = Planner.plan(desired: desired, actual: host.state)
            #expect(!plan.hasChanges)
            #expect(plan.network.action == .inSync)
            #expect(plan.files.allSatisfy { $0.action == .inSync && $0.diff == "" })
            #expect(plan.warnings == [])
            #expect(plan.summary.inSync == 2)

            host.missingDirectories = ["/srv/app/db/"]
            let withDirectory = Planner.plan(desired: desired, actual: host.state)
            #expect(withDirectory.directories == ["/srv/app/db/"])
            #expect(withDirectory.hasChanges)
        }

        // MARK: Removal

        struct RemovalRow: Sendable, CustomTestStringConvertible {
            var label: String
            var managed: Bool
            var recorded: Bool
            var networks: [String]
            var removed: Bool
            var warned: Bool
            var testDescription: String { label }
        }

        @Test(arguments: [
            RemovalRow(
                label: "applied here, left the spec", managed: true, recorded: true, networks: ["appnet"],
                removed: true, warned: false),
            RemovalRow(
                label: "applied here, on another network", managed: true, recorded: true, networks: ["other"],
                removed: true, warned: false),
            RemovalRow(
                label: "labelled, not in this host's record", managed: true, recorded: false, networks: ["appnet"],
                removed: false, warned: true),
            RemovalRow(
                label: "another deployment's", managed: true, recorded: false, networks: ["othernet"], removed: false,
                warned: false),
            RemovalRow(
                label: "made by hand", managed: false, recorded: false, networks: ["appnet"], removed: false,
                warned: false),
            RemovalRow(
                label: "made by hand, a stale record", managed: false, recorded: true, networks: ["appnet"],
                removed: false, warned: false),
        ])
        func removal(_ row: RemovalRow) throws {
            let desired = Self.desired()
            var host = try Self.syncedHost(desired)
            try host.add("old-worker", managed: row.managed, hash: row.managed ? "h" : nil, networks: row.networks)
            if row.recorded {
                host.record("old-worker", arguments: ["container", "run", "localhost/worker:1"], hash: "h")
            }
            let plan = Planner.plan(desired: desired, actual: host.state)

            let removals = plan.containers.filter { $0.action == .remove }
            #expect(removals.map(\.name) == (row.removed ? ["old-worker"] : []))
            #expect(!plan.containers.contains { $0.name == "old-worker" && $0.action != .remove })
            if row.removed {
                #expect(
                    plan.containers.last
                        == ContainerChange(
                            name: "old-worker", action: .remove, level: nil,
                            reasons: ["managed by Mailroom and no longer in the spec (its volumes and data stay)"],
                            fields: [], arguments: nil, configHash: nil))
            }
            #expect(
                plan.warnings
                    == (row.warned
                        ? [
                            "old-worker is labelled mailroom.managed and on network appnet but not in this host's record, so it is left alone; remove it by hand if it is no longer wanted"
                        ] : []))
        }

        @Test func removalsComeLastSortedByName() throws {
            let desired = Self.desired()
            var host = try Self.syncedHost(desired)
            for name in ["zeta", "alpha"] {
                try host.add(name, managed: true, hash: "h")
                host.record(name, arguments: [], hash: "h")
            }
            let plan = Planner.plan(desired: desired, actual: host.state)
            #expect(plan.containers.map(\.name) == ["db", "web", "alpha", "zeta"])
            #expect(plan.containers.map(\.action) == [.inSync, .create, .remove, .remove])
            #expect(plan.summary.remove == 2)
        }

        // MARK: Network

        struct NetworkRow: Sendable, CustomTestStringConvertible {
            var label: String
            var subnets: [String]
            var action: NetworkChange.Action
            var testDescription: String { label }
        }

        @Test(arguments: [
            NetworkRow(label: "same subnets", subnets: ["10.77.0.0/24", "fd42:77::/64"], action: .inSync),
            NetworkRow(
                label: "same subnets spelled otherwise", subnets: ["fd42:0077:0::/64", "10.77.0.0/24"], action: .inSync),
            NetworkRow(label: "another IPv4 subnet", subnets: ["10.78.0.0/24", "fd42:77::/64"], action: .conflict),
            NetworkRow(label: "no IPv6 subnet", subnets: ["10.77.0.0/24"], action: .conflict),
            NetworkRow(label: "a wider subnet", subnets: ["10.77.0.0/16", "fd42:77::/64"], action: .conflict),
        ])
        func network(_ row: NetworkRow) throws {
            let desired = Self.desired()
            var host = try Self.syncedHost(desired)
            host.network = try PureTests.networkSummary("appnet", subnets: row.subnets)
            let plan = Planner.plan(desired: desired, actual: host.state)
            #expect(plan.network.action == row.action)
            #expect(plan.network.arguments == desired.network.arguments)
            if row.action == .conflict {
                let have = row.subnets.map { Subnet($0)!.description }.sorted().joined(separator: ", ")
                let detail =
                    "network appnet exists with subnets \(have) but the spec says 10.77.0.0/24, fd42:77::/64; Mailroom never replaces a network: change the spec or remove the network by hand"
                #expect(plan.network.detail == detail)
                #expect(plan.conflicts == [detail])
            } else {
                #expect(plan.network.detail == nil)
                #expect(plan.conflicts == [])
            }
        }

        // MARK: Files

        struct FileRow: Sendable, CustomTestStringConvertible {
            var label: String
            var observed: ObservedFile
            var action: FileChange.Action
            /// The diff, or its lines in any order when `anyOrder`.
            var diff: String
            var anyOrder = false
            var testDescription: String { label }
        }

        @Test(arguments: [
            FileRow(
                label: "absent", observed: ObservedFile(content: nil, mode: nil), action: .create,
                diff: "@@ -0,0 +1,2 @@\n+A=1\n+B=2"),
            FileRow(
                label: "same", observed: ObservedFile(content: "A=1\nB=2\n", mode: 0o600), action: .inSync, diff: ""),
            FileRow(
                label: "other content", observed: ObservedFile(content: "A=1\nB=3\n", mode: 0o600), action: .update,
                diff: "@@ -1,2 +1,2 @@\n A=1\n-B=3\n+B=2", anyOrder: true),
            FileRow(
                label: "a line more on the host", observed: ObservedFile(content: "A=1\nB=2\nC=3\n", mode: 0o600),
                action: .update,
                diff: "@@ -1,3 +1,2 @@\n A=1\n B=2\n-C=3"),
            FileRow(
                label: "other mode", observed: ObservedFile(content: "A=1\nB=2\n", mode: 0o644), action: .update,
                diff: "mode 644 → 600"),
            FileRow(
                label: "other mode, unreadable", observed: ObservedFile(content: "A=1\nB=2\n", mode: nil),
                action: .update, diff: "mode 0 → 600"),
        ])
        func file(_ row: FileRow) throws {
            let desired = Self.desired()
            var host = try Self.syncedHost(desired)
            host.files[Self.envPath] = row.observed
            let plan = Planner.plan(desired: desired, actual: host.state)
            let change = try #require(plan.files.first { $0.path == Self.envPath })
            #expect(change.action == row.action)
            #expect(change.kind == .file)
            #expect(change.mode == 0o600)
            if row.anyOrder {
                #expect(change.diff.split(separator: "\n").first == row.diff.split(separator: "\n").first)
                #expect(Set(change.diff.split(separator: "\n")) == Set(row.diff.split(separator: "\n")))
            } else {
                #expect(change.diff == row.diff)
            }
            #expect(plan.files.first { $0.path == Self.sitePath }?.action == .inSync)
            #expect(plan.summary.filesToWrite == (row.action == .inSync ? 0 : 1))
        }

        @Test func changedFileCarriesItsReload() throws {
            let desired = Self.desired()
            var host = try Self.syncedHost(desired)
            host.files[Self.sitePath] = ObservedFile(content: "listen 8080\n", mode: 0o644)
            let change = try #require(
                Planner.plan(desired: desired, actual: host.state).files.first { $0.path == Self.sitePath })
            #expect(change.action == .update)
            #expect(change.reload == FileDefinition.Reload(container: "web", command: ["kill", "-HUP", "1"]))
        }

        struct StaleRow: Sendable, CustomTestStringConvertible {
            var path: String
            var exists: Bool
            var kind: FileChange.Kind?
            var testDescription: String { "\(path)\(exists ? "" : " (gone)")" }
        }

        /// Files Mailroom wrote that left the spec are deleted; nothing else is.
        @Test(arguments: [
            StaleRow(path: "/srv/app/old.conf", exists: true, kind: .file),
            StaleRow(path: "/units/container-old.service", exists: true, kind: .unit),
            StaleRow(path: "/srv/app/gone.conf", exists: false, kind: nil),
        ])
        func staleGeneratedFile(_ row: StaleRow) throws {
            let desired = Self.desired()
            var host = try Self.syncedHost(desired)
            host.applied.files.append(row.path)
            host.files[row.path] = ObservedFile(content: row.exists ? "old\n" : nil, mode: row.exists ? 0o644 : nil)
            host.files["/srv/app/unrecorded.conf"] = ObservedFile(content: "mine\n", mode: 0o644)
            let plan = Planner.plan(desired: desired, actual: host.state)
            let deletions = plan.files.filter { $0.action == .delete }
            if let kind = row.kind {
                #expect(
                    deletions == [
                        FileChange(
                            path: row.path, kind: kind, action: .delete, mode: nil, diff: "@@ -1,1 +0,0 @@\n-old",
                            reload: nil)
                    ])
            } else {
                #expect(deletions == [])
            }
        }

        @Test func systemdHostManagesUnits() throws {
            let desired = Self.desired()
            var host = try Self.syncedHost(desired)
            host.systemd = true
            let plan = Planner.plan(desired: desired, actual: host.state)
            #expect(plan.runner == .systemd)
            let units = plan.files.filter { $0.kind == .unit }
            #expect(units.map(\.path) == ["/units/container-web.service", "/units/container-db.service"])
            #expect(units.allSatisfy { $0.action == .create })
            // The installed unit carries the config hash, so the container it starts is recognised.
            let installed = Planner.units(desired, actual: host.state)
            let web = try #require(desired.container(named: "web"))
            let hash = Planner.configHash(web, actual: host.state)
            #expect(installed[0].content.contains("\t--label=mailroom.config-hash=\(hash) \\\n"))
            #expect(installed[0].content.contains("\t--label=mailroom.managed=true \\\n"))
            #expect(!desired.units[0].content.contains("mailroom.config-hash"))
            #expect(installed[0].content.contains("After=container-db.service\nRequires=container-db.service\n"))

            // Installed as planned: in sync.
            for unit in installed { host.files[unit.path] = ObservedFile(content: unit.content, mode: unit.mode) }
            #expect(
                Planner.plan(desired: desired, actual: host.state).files.filter { $0.kind == .unit }.allSatisfy {
                    $0.action == .inSync
                })
            // Without systemd the units are not Mailroom's concern.
            host.systemd = false
            #expect(!Planner.plan(desired: desired, actual: host.state).files.contains { $0.kind == .unit })
        }

        // MARK: Secrets

        @Test func secretsAreRedactedInDiffs() throws {
            let desired = Self.desired(env: "KEY=n3wsecret\nA=2\n", secret: "n3wsecret")
            var host = try Self.syncedHost(desired)
            host.files[Self.envPath] = ObservedFile(content: "KEY=n3wsecret\nA=1\n", mode: 0o600)
            let change = try #require(
                Planner.plan(desired: desired, actual: host.state).files.first { $0.path == Self.envPath })
            #expect(change.action == .update)
            #expect(Set(change.diff.split(separator: "\n")) == ["@@ -1,2 +1,2 @@", " KEY=(secret)", "-A=1", "+A=2"])

            host.files[Self.envPath] = nil
            let created = try #require(
                Planner.plan(desired: desired, actual: host.state).files.first { $0.path == Self.envPath })
            #expect(created.diff == "@@ -0,0 +1,2 @@\n+KEY=(secret)\n+A=2")
        }

        /// The secret was rotated: the file on the host still holds the old value, which only
        /// the new values are redacted from.
        @Test func rotatedSecretStaysOutOfTheDiff() throws {
            let desired = Self.desired(env: "KEY=n3wsecret\nA=1\n", secret: "n3wsecret")
            var host = try Self.syncedHost(desired)
            host.files[Self.envPath] = ObservedFile(content: "KEY=0ldsecret\nA=1\n", mode: 0o600)
            let change = try #require(
                Planner.plan(desired: desired, actual: host.state).files.first { $0.path == Self.envPath })
            #expect(change.action == .update)
            #expect(!change.diff.contains("n3wsecret"))
            withKnownIssue("the old secret value is printed: the diff shows -KEY=0ldsecret") {
                #expect(!change.diff.contains("0ldsecret"))
            }
        }

        /// The file on the host lacks only its final newline: no secrets are involved.
        @Test func onlyTheFinalNewlineDiffers() throws {
            let desired = Self.desired()
            var host = try Self.syncedHost(desired)
            host.files[Self.envPath] = ObservedFile(content: "A=1\nB=2", mode: 0o600)
            let change = try #require(
                Planner.plan(desired: desired, actual: host.state).files.first { $0.path == Self.envPath })
            #expect(change.action == .update)
            withKnownIssue(
                "an empty unified diff is taken to mean a secret changed: the plan says \"(secret values changed)\""
            ) {
                #expect(!change.diff.contains("secret"))
            }
        }

        // MARK: Leaving alone

        @Test func leavingAloneKeepsRemovals() throws {
            let desired = Self.desired()
            var host = try Self.syncedHost(desired)
            try host.add("old-worker", managed: true, hash: "h")
            host.record("old-worker", arguments: [], hash: "h")
            let plan = Planner.plan(desired: desired, actual: host.state).leavingAlone(["web", "old-worker", "db"])
            #expect(plan.containers.map(\.action) == [.inSync, .inSync, .remove])
            #expect(plan.leftAlone == ["web"])
            #expect(plan.warnings == ["web is left alone by self-heal (backoff, or budget spent) instead of create"])
        }
    }
}
