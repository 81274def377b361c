#!/usr/bin/env python3
"""Checks the package's target graph (`swift package describe --type json` on stdin): data flows
one way through the pipeline, the pure core starts no process and links no git, HTTP or
service-lifecycle code, and the shipped `mailroom` binary holds no test support or benchmark."""
import json
import sys

targets = {t["name"]: t for t in json.load(sys.stdin)["targets"]}


def closure(name):
    seen, stack = set(), [name]
    while stack:
        target = targets.get(stack.pop())
        if not target:
            continue
        for dep in target.get("target_dependencies", []) + target.get("product_dependencies", []):
            if dep not in seen:
                seen.add(dep)
                stack.append(dep)
    return seen


rules = {
    # The pure core: text -> desired state.
    "MailroomSpec": {"CLDNS", "CGit2", "CSpawn", "MailroomHost", "FlyingFox", "ServiceLifecycle", "MailroomRender", "MailroomMailu"},
    "MailroomRender": {"CLDNS", "CGit2", "CSpawn", "MailroomHost", "FlyingFox", "ServiceLifecycle", "MailroomMailu"},
    "MailroomMailu": {"CLDNS", "CGit2", "CSpawn", "MailroomHost", "FlyingFox", "ServiceLifecycle", "MailroomRender"},
    "MailroomSource": {"CSpawn", "MailroomHost", "MailroomSpec", "FlyingFox", "ServiceLifecycle"},
    "MailroomHost": {"CGit2", "MailroomSpec", "MailroomRender", "FlyingFox", "ServiceLifecycle"},
    # A DNS client over ldns: no processes, no git, no spec, no Mailu.
    "MailroomDNS": {"CGit2", "CSpawn", "MailroomHost", "MailroomSpec", "MailroomMailu", "FlyingFox", "ServiceLifecycle"},
    "MailroomPlan": {"CGit2", "MailroomMailu", "MailroomSource", "FlyingFox", "ServiceLifecycle"},
    "MailroomApply": {"CGit2", "MailroomMailu", "MailroomSource", "FlyingFox", "ServiceLifecycle"},
    "MailroomAgent": {"MailroomMailu", "MailroomTestSupport"},
    "mailroom": {"MailroomTestSupport", "mailroom-bench", "mailu-admin-fake"},
}
problems = [
    f"{name} must not depend on {', '.join(sorted(closure(name) & banned))}"
    for name, banned in rules.items()
    if closure(name) & banned
]
missing = sorted(set(rules) - set(targets))
if missing:
    problems.append(f"targets missing: {', '.join(missing)}")
for problem in problems:
    print(f"check-layout: {problem}", file=sys.stderr)
print(f"check-layout: {len(rules)} targets checked, {len(problems)} problems")
sys.exit(1 if problems else 0)
