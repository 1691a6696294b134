// What a TypeScript client of Portico writes, with the two generators' output for the committed spec:
// the summary report and one page of instances, read with the types of openapi-typescript (over
// plain fetch) and with the client of @hey-api/openapi-ts. tests/sdk/test_typescript_clients.py
// generates both into a temporary folder beside a copy of this file and compiles it with
// `tsc --strict --noEmit`: a change of the spec that breaks this code fails the test.

import type { components, paths } from "./generated/openapi-typescript/schema";
import { createClient } from "./generated/hey-api/client";
import { instancesList, portalsReport } from "./generated/hey-api/sdk.gen";
import type { InstancePublic, PortalReport } from "./generated/hey-api/types.gen";

// ---- openapi-typescript: the types of each path, over fetch -------------------------------------

type ReportJson =
  paths["/v1/portals/{portal}/report"]["get"]["responses"][200]["content"]["application/json"];
type InstancePage = paths["/v1/instances"]["get"]["responses"][200]["content"]["application/json"];
type Instance = components["schemas"]["InstancePublic"];
type Query = NonNullable<paths["/v1/instances"]["get"]["parameters"]["query"]>;

async function getJson<T>(base: string, key: string, path: string): Promise<T> {
  const response = await fetch(new URL(path, base), {
    headers: { Authorization: `Bearer ${key}`, Accept: "application/json" },
  });
  if (!response.ok) {
    throw new Error(`${response.status} ${await response.text()}`);
  }
  return (await response.json()) as T;
}

export async function unmappedByMember(base: string, key: string, portal: string): Promise<Map<string, string[]>> {
  const report = await getJson<ReportJson>(base, key, `/v1/portals/${encodeURIComponent(portal)}/report`);
  const unmapped = new Map<string, string[]>();
  for (const member of report.members) {
    const services: number = member.services;
    const mapped: number = member.mapped;
    if (services > mapped) {
      unmapped.set(member.name, member.unmapped);
    }
  }
  if (!report.ready) {
    const reasons: string[] = report.unmet_requirements.map((requirement) => requirement.code);
    unmapped.set(report.portal, reasons);
  }
  return unmapped;
}

export async function firstPortals(base: string, key: string): Promise<{ names: string[]; next: string | null }> {
  const query: Query = { kind: "portal", limit: 20 };
  const search = new URLSearchParams({ kind: String(query.kind), limit: String(query.limit) });
  const page = await getJson<InstancePage>(base, key, `/v1/instances?${search}`);
  const names = page.items.map((instance: Instance) => `${instance.name} (${instance.display_name})`);
  return { names, next: page.next_cursor };
}

// ---- @hey-api/openapi-ts: a function per operation -------------------------------------------------

export async function readyMembers(base: string, key: string, portal: string): Promise<string[]> {
  const client = createClient({ baseUrl: base, auth: key });
  const { data, error } = await portalsReport({ client, path: { portal } });
  if (error !== undefined) {
    throw new Error(`the report failed: ${JSON.stringify(error)}`);
  }
  const report: PortalReport = data;
  return report.members.filter((member) => member.unmapped.length === 0).map((member) => member.name);
}

export async function allInstanceNames(base: string, key: string): Promise<string[]> {
  const client = createClient({ baseUrl: base, auth: key });
  const names: string[] = [];
  let cursor: string | undefined;
  do {
    const { data, error } = await instancesList({ client, query: { limit: 100, cursor } });
    if (error !== undefined) {
      throw new Error(`the list failed: ${JSON.stringify(error)}`);
    }
    const items: InstancePublic[] = data.items;
    names.push(...items.map((instance) => instance.name));
    cursor = data.next_cursor ?? undefined;
  } while (cursor !== undefined);
  return names;
}
