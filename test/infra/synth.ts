/**
 * Builds the tracelake app the way `cdk synth` does (cdk.json's context and feature flags), into a
 * temporary folder, and helpers to read the synthesized template.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Template } from 'aws-cdk-lib/assertions';
import { buildTracelakeApp, cdkJsonContext, type TracelakeApp } from '../../infra/app.js';

export interface Synthesized extends TracelakeApp {
  readonly template: Template;
  readonly json: Record<string, unknown>;
  readonly outdir: string;
  /** Removes the temporary cloud assembly. */
  cleanup(): void;
}

export interface SynthOptions {
  /** Bundle the functions with esbuild (slow); otherwise bundling is skipped. @default false */
  readonly bundle?: boolean;
  /** @default true */
  readonly nag?: boolean;
}

export function synthesize(context: Record<string, unknown> = {}, options: SynthOptions = {}): Synthesized {
  const outdir = mkdtempSync(path.join(tmpdir(), 'tracelake-cdk-'));
  const ctx: Record<string, unknown> = { ...cdkJsonContext(), ...context };
  if (!options.bundle) ctx['aws:cdk:bundling-stacks'] = [];
  const built = buildTracelakeApp({ context: ctx, nag: options.nag ?? true, outdir });
  const template = Template.fromStack(built.stack);
  return {
    ...built,
    template,
    json: template.toJSON(),
    outdir,
    cleanup: () => rmSync(outdir, { recursive: true, force: true }),
  };
}

export interface CfnResource {
  readonly Type: string;
  readonly Properties?: Record<string, unknown>;
  readonly [key: string]: unknown;
}

export function resources(json: Record<string, unknown>): [string, CfnResource][] {
  return Object.entries(json.Resources as Record<string, CfnResource>);
}

export function ofType(json: Record<string, unknown>, type: string): [string, CfnResource][] {
  return resources(json).filter(([, r]) => r.Type === type);
}

/**
 * Renders a CloudFormation value to text for assertions: `Fn::Join` is joined, a `Ref` becomes
 * `<Ref:Logical>`, a `Fn::GetAtt` `<Logical.Attr>`; strings stay as they are.
 */
export function render(value: unknown, refs: Readonly<Record<string, string>> = {}): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) return value.map((v) => render(v, refs)).join(',');
  if (value && typeof value === 'object') {
    const o = value as Record<string, unknown>;
    if ('Fn::Join' in o) {
      const [sep, parts] = o['Fn::Join'] as [string, unknown[]];
      return parts.map((p) => render(p, refs)).join(sep);
    }
    if ('Ref' in o) return refs[String(o.Ref)] ?? `<Ref:${String(o.Ref)}>`;
    if ('Fn::GetAtt' in o) return `<${(o['Fn::GetAtt'] as string[]).join('.')}>`;
  }
  return JSON.stringify(value);
}

/** The template with asset hashes and bundle locations replaced, so a snapshot is the same on every machine. */
export function normalizedTemplate(json: Record<string, unknown>): unknown {
  const text = JSON.stringify(json)
    .replace(/[0-9a-f]{64}(\.zip|\.json)?/g, 'HASH$1')
    .replace(/"aws:asset:path":"[^"]*"/g, '"aws:asset:path":"ASSET"');
  const parsed = JSON.parse(text) as { Resources: Record<string, CfnResource> };
  for (const [id, r] of Object.entries(parsed.Resources)) {
    // Version-dependent, not about tracelake.
    if (r.Type === 'AWS::CDK::Metadata') delete parsed.Resources[id];
  }
  return parsed;
}
