import Foundation
import Testing

@testable import MailroomApply
@testable import MailroomPlan
@testable import MailroomSpec
@testable import MailroomSupport

extension PureTests {
    /// The objects' diff: declared against exported against the record, and the import it makes.
    @Suite("Object planner", .tags(.pure))
    struct ObjectPlannerTests {
        static let origin = SourceLocation(file: "mailroom.yaml", line: 1, column: 1)

        static func store(_ objects: [ManagedObject], allowGuarded: Bool = false) -> ObjectStore {
            ObjectStore(
                container: "mailu-admin", exportCommand: ["export"], importCommand: ["import", "--update"],
                kinds: [
                    ObjectKind(name: "domain", keyField: "name", deletionGuard: "guarded"),
                    ObjectKind(
                        name: "user", keyField: "email", unorderedFields: ["manager_of"], deletionGuard: "guarded",
                        deletionNote: "the account"),
                    ObjectKind(name: "alias", keyField: "email", unorderedFields: ["destination"]),
                ], objects: objects, guardedDeletionsAllowed: allowGuarded)
        }

        static func user(_ email: String, _ fields: [String: ObjectValue] = [:], digest: String = "d1") -> ManagedObject
        {
            ManagedObject(
                kind: "user", key: email, fields: fields,
                secret: SecretWrite(
                    field: "password", payload: ["password": .string("pw-\(digest)"), "hash_password": .bool(true)],
                    source: "secret P", digest: digest), origin: origin)
        }

        static func alias(_ email: String, _ to: [String]) -> ManagedObject {
            ManagedObject(
                kind: "alias", key: email, fields: ["destination": .list(to.map { .string($0) })], origin: origin)
        }

        static func exported(_ objects: [String: [[String: ObjectValue]]]) throws -> ObservedObjects {
            let data = try JSONEncoder().encode(objects.mapValues { ObjectValue.list($0.map { .object($0) }) })
            return try ObservedObjects.parse(data, kinds: store([]).kinds)
        }

        static func applied(_ objects: [String: AppliedState.AppliedObject]) -> AppliedState {
            var state = AppliedState()
            state.objects = objects
            return state
        }

        @Test("an empty store: everything declared is created; the import holds the secret, the plan does not")
        func createEverything() throws {
            let store = Self.store([
                ManagedObject(kind: "domain", key: "example.org", origin: Self.origin),
                Self.user("alice@example.org", ["displayed_name": .string("Alice")]),
            ])
            let plan = ObjectPlanner.plan(store, observed: try Self.exported([:]), applied: AppliedState())
            #expect(plan.changes.map(\.id) == ["domain example.org", "user alice@example.org"])
            #expect(plan.changes.allSatisfy { $0.action == .create })
            let planText = String(decoding: try JSONEncoder().encode(plan), as: UTF8.self)
            #expect(!planText.contains("pw-d1"))
            let document = String(
                decoding: try ObjectPlanner.importDocument(plan.imports, store: store), as: UTF8.self)
            #expect(
                document
                    == #"{"domain":[{"name":"example.org"}],"user":[{"displayed_name":"Alice","email":"alice@example.org","hash_password":true,"password":"pw-d1"}]}"#
            )
        }

        @Test("in sync after recording; fields users set themselves are not compared; list order is ignored")
        func inSync() throws {
            let store = Self.store([
                Self.user("alice@example.org", ["manager_of": .list([.string("b.org"), .string("a.org")])])
            ])
            let observed = try Self.exported([
                "user": [
                    [
                        "email": .string("alice@example.org"),
                        "manager_of": .list([.string("a.org"), .string("b.org")]),
                        "forward_enabled": .bool(true), "password": .string("{BLF-CRYPT}changed-in-the-ui"),
                    ]
                ]
            ])
            let record = [
                "user alice@example.org": AppliedState.AppliedObject(fields: ["manager_of"], secretDigest: "d1")
            ]
            let plan = ObjectPlanner.plan(store, observed: observed, applied: Self.applied(record))
            #expect(plan.changes.isEmpty)
            #expect(!plan.hasChanges)
            // The same object not yet recorded: adopted, no import.
            let adopt = ObjectPlanner.plan(
                Self.store([ManagedObject(kind: "alias", key: "a@example.org", origin: Self.origin)]),
                observed: try Self.exported(["alias": [["email": .string("a@example.org")]]]), applied: AppliedState())
            #expect(adopt.changes.map(\.action) == [.adopt])
            #expect(adopt.imports.isEmpty)
        }

        @Test("a password is written again only when the spec's secret changes")
        func passwordOnlyOnChange() throws {
            let observed = try Self.exported(["user": [["email": .string("alice@example.org")]]])
            let record = ["user alice@example.org": AppliedState.AppliedObject(fields: [], secretDigest: "d1")]
            let same = ObjectPlanner.plan(
                Self.store([Self.user("alice@example.org")]), observed: observed, applied: Self.applied(record))
            #expect(same.changes.isEmpty)
            let changed = ObjectPlanner.plan(
                Self.store([Self.user("alice@example.org", digest: "d2")]), observed: observed,
                applied: Self.applied(record))
            #expect(changed.changes.map(\.action) == [.update])
            #expect(changed.changes.first?.fields.map(\.field) == ["password"])
            let document = String(
                decoding: try ObjectPlanner.importDocument(
                    changed.imports, store: Self.store([Self.user("alice@example.org", digest: "d2")])),
                as: UTF8.self)
            #expect(document == #"{"user":[{"email":"alice@example.org","hash_password":true,"password":"pw-d2"}]}"#)
            let after = ObjectPlanner.record(
                changed.changes, store: Self.store([Self.user("alice@example.org", digest: "d2")]), into: record)
            #expect(after["user alice@example.org"]?.secretDigest == "d2")
        }

        @Test("a drifted field is put back; only that field is sent")
        func drift() throws {
            let store = Self.store([Self.alias("sales@example.org", ["a@example.org", "b@example.org"])])
            let observed = try Self.exported([
                "alias": [
                    [
                        "email": .string("sales@example.org"), "destination": .list([.string("a@example.org")]),
                        "comment": .string("set in the UI"),
                    ]
                ]
            ])
            let record = [
                "alias sales@example.org": AppliedState.AppliedObject(fields: ["destination"], secretDigest: nil)
            ]
            let plan = ObjectPlanner.plan(store, observed: observed, applied: Self.applied(record))
            #expect(plan.changes.count == 1)
            #expect(
                plan.changes[0].fields == [
                    ObjectFieldChange(
                        field: "destination", old: "[a@example.org]", new: "[a@example.org, b@example.org]")
                ])
            let document = String(decoding: try ObjectPlanner.importDocument(plan.imports, store: store), as: UTF8.self)
            #expect(
                document
                    == #"{"alias":[{"destination":["a@example.org","b@example.org"],"email":"sales@example.org"}]}"#)
            // Where an import merges lists (Mailu), the marker makes the declared list the whole list.
            var merging = store
            merging.listReplaceMarker = "-prune-"
            let pruned = String(decoding: try ObjectPlanner.importDocument(plan.imports, store: merging), as: UTF8.self)
            #expect(
                pruned
                    == #"{"alias":[{"destination":["-prune-","a@example.org","b@example.org"],"email":"sales@example.org"}]}"#
            )
        }

        @Test("objects made outside Mailroom are listed and left alone; recorded ones that left the spec are deleted")
        func ownership() throws {
            let observed = try Self.exported([
                "alias": [["email": .string("old@example.org")], ["email": .string("ui@example.org")]],
                "user": [["email": .string("bob@example.org")]],
            ])
            let record = [
                "alias old@example.org": AppliedState.AppliedObject(fields: [], secretDigest: nil),
                "alias gone@example.org": AppliedState.AppliedObject(fields: [], secretDigest: nil),
            ]
            let plan = ObjectPlanner.plan(Self.store([]), observed: observed, applied: Self.applied(record))
            #expect(plan.changes.map(\.id) == ["alias old@example.org"])
            #expect(plan.changes.map(\.action) == [.delete])
            #expect(plan.unmanaged == ["user bob@example.org", "alias ui@example.org"])
            let document = String(
                decoding: try ObjectPlanner.importDocument(plan.imports, store: Self.store([])), as: UTF8.self)
            #expect(document == #"{"alias":[{"-email":"old@example.org"}]}"#)
            // The record forgets what the application no longer has (gone@ was deleted in the UI):
            // an address made there later is not Mailroom's to delete.
            #expect(ObjectPlanner.record(plan.changes, store: Self.store([]), into: record, observed: observed).isEmpty)
        }

        @Test("a field no longer declared goes back to its default, once")
        func undeclaredFieldReset() throws {
            let observed = try Self.exported([
                "user": [["email": .string("u@example.org"), "global_admin": .bool(true)]]
            ])
            let record = [
                "user u@example.org": AppliedState.AppliedObject(fields: ["global_admin"], secretDigest: "d1")
            ]
            let store = Self.store([Self.user("u@example.org")])
            let plan = ObjectPlanner.plan(store, observed: observed, applied: Self.applied(record))
            #expect(
                plan.changes.first?.fields == [ObjectFieldChange(field: "global_admin", old: "true", new: "(default)")])
            let document = String(decoding: try ObjectPlanner.importDocument(plan.imports, store: store), as: UTF8.self)
            #expect(document == #"{"user":[{"-global_admin":null,"email":"u@example.org"}]}"#)
            let after = ObjectPlanner.record(plan.changes, store: store, into: record)
            #expect(after["user u@example.org"]?.fields == [])
            #expect(ObjectPlanner.plan(store, observed: observed, applied: Self.applied(after)).changes.isEmpty)
        }

        @Test("deleting an owner names what goes with it that Mailroom does not manage")
        func cascadeIsSaid() throws {
            var store = Self.store([], allowGuarded: true)
            store.kinds[1].ownerKind = "domain"
            let observed = try Self.exported([
                "domain": [["name": .string("example.org")]], "user": [["email": .string("ui@example.org")]],
            ])
            let record = ["domain example.org": AppliedState.AppliedObject(fields: [], secretDigest: nil)]
            let plan = ObjectPlanner.plan(store, observed: observed, applied: Self.applied(record))
            #expect(plan.changes.first?.note == "also removes user ui@example.org")
        }

        @Test("a mailbox is deleted only with the guard; without it the plan has a conflict")
        func guardedDeletion() throws {
            let observed = try Self.exported(["user": [["email": .string("bob@example.org")]]])
            let record = ["user bob@example.org": AppliedState.AppliedObject(fields: [], secretDigest: "d")]
            let refused = ObjectPlanner.plan(Self.store([]), observed: observed, applied: Self.applied(record))
            #expect(refused.changes.isEmpty)
            #expect(refused.conflicts == ["user bob@example.org was removed from the spec; guarded"])
            let allowed = ObjectPlanner.plan(
                Self.store([], allowGuarded: true), observed: observed, applied: Self.applied(record))
            #expect(allowed.changes.map(\.action) == [.delete])
            #expect(allowed.changes.first?.note == "the account")
        }

        @Test("objects deleted with their owner are not named again in the import")
        func cascade() throws {
            var store = Self.store([])
            store.kinds = store.kinds.map { kind in
                var kind = kind
                if kind.name != "domain" { kind.ownerKind = "domain" }
                return kind
            }
            store.guardedDeletionsAllowed = true
            let observed = try Self.exported([
                "domain": [["name": .string("example.org")]],
                "user": [["email": .string("dan@example.org")], ["email": .string("eve@example.net")]],
            ])
            let record = Dictionary(
                uniqueKeysWithValues: ["domain example.org", "user dan@example.org", "user eve@example.net"].map {
                    ($0, AppliedState.AppliedObject(fields: [], secretDigest: nil))
                })
            let plan = ObjectPlanner.plan(store, observed: observed, applied: Self.applied(record))
            #expect(plan.changes.map(\.action) == [.delete, .delete, .delete])
            let document = String(decoding: try ObjectPlanner.importDocument(plan.imports, store: store), as: UTF8.self)
            #expect(document == #"{"domain":[{"-name":"example.org"}],"user":[{"-email":"eve@example.net"}]}"#)
            #expect(ObjectPlanner.record(plan.changes, store: store, into: record).isEmpty)
        }

        @Test("Mailu's complaint is kept without the values it quotes")
        func redaction() {
            let said = """
                Traceback (most recent call last):
                Error: [ValidationError] 1 error occurred during input validation
                     - user.0.password : invalid password hash 'hunter2'
                Error: [IntegrityError] (sqlite3.IntegrityError) UNIQUE failed [parameters: ('x', '{BLF-CRYPT}...')]
                """
            let kept = RolloutExecution.redacted(said)
            #expect(!kept.contains("hunter2") && !kept.contains("BLF-CRYPT") && !kept.contains("Traceback"))
            #expect(kept.contains("user.0.password : invalid password hash '…'"))
        }

        @Test("the first admin is created when missing and never touched once it exists")
        func createOnly() throws {
            var admin = Self.user("admin@example.org", ["global_admin": .bool(true)])
            admin.createOnly = true
            let store = Self.store([admin])
            let missing = ObjectPlanner.plan(store, observed: try Self.exported([:]), applied: AppliedState())
            #expect(missing.changes.map(\.action) == [.create])
            #expect(ObjectPlanner.record(missing.changes, store: store, into: [:]).isEmpty)
            let exists = ObjectPlanner.plan(
                store,
                observed: try Self.exported([
                    "user": [["email": .string("admin@example.org"), "global_admin": .bool(false)]]
                ]), applied: AppliedState())
            #expect(exists.changes.isEmpty)
            #expect(exists.unmanaged.isEmpty)
        }

        @Test("not readable (the container is not running): new objects planned, the reason kept")
        func pending() throws {
            let store = Self.store([Self.alias("a@example.org", ["b@example.org"])])
            let plan = ObjectPlanner.plan(store, observed: .unavailable("not running"), applied: AppliedState())
            #expect(plan.pending == "not running")
            #expect(plan.hasChanges)
            #expect(plan.changes.map(\.action) == [.create])
        }

        @Test("diff of two specs: added, changed (with the secret as its source), removed")
        func diffOfTwoSpecs() {
            let old = Self.store([Self.alias("a@example.org", ["x@example.org"]), Self.user("u@example.org")])
            let new = Self.store([
                Self.alias("a@example.org", ["y@example.org"]), Self.user("v@example.org"),
                Self.alias("new@example.org", ["x@example.org"]),
            ])
            let changes = ObjectPlanner.diff(from: old, to: new)
            #expect(
                changes.map(\.id) == [
                    "user v@example.org", "user u@example.org", "alias a@example.org", "alias new@example.org",
                ])
            #expect(changes.map(\.action) == [.create, .delete, .update, .create])
            #expect(
                changes[2].fields == [
                    ObjectFieldChange(field: "destination", old: "[x@example.org]", new: "[y@example.org]")
                ])
        }
    }
}
