// Amazon ECR: make sure the repository exists, find an image by tag, confirm a digest, read and
// start its scan. Errors the user must fix (access denied, a repository name ECR refuses) become
// EcrError with `userError`; the rest are transient.
import {
  CreateRepositoryCommand,
  DescribeImageScanFindingsCommand,
  DescribeImagesCommand,
  ECRClient,
  StartImageScanCommand,
  type DescribeImageScanFindingsCommandOutput,
} from '@aws-sdk/client-ecr';
import { ECR_REPOSITORY } from '../api/v1alpha1/pipeline.js';
import { describeError } from '../runtime/errors.js';
import { regionalClients, type AwsClientOptions } from './awsClients.js';

export interface RepositoryRef {
  registryId: string;
  region: string;
  name: string;
  /** <host>/<name>, as written in the spec. */
  uri: string;
}

export function parseRepository(uri: string): RepositoryRef {
  const m = ECR_REPOSITORY.exec(uri);
  if (!m) throw new EcrError(`"${uri}" is not an ECR repository URI`, true);
  return { registryId: m[1] as string, region: m[2] as string, name: m[4] as string, uri };
}

export class EcrError extends Error {
  override readonly name = 'EcrError';
  constructor(
    message: string,
    readonly userError: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

const USER_ERRORS = new Set([
  'AccessDeniedException',
  'InvalidParameterException',
  'UnrecognizedClientException',
  'InvalidSignatureException',
  'LimitExceededException',
]);

// A scan call about an image that is gone, or a request ECR calls invalid, will not get better
// by retrying.
const SCAN_USER_ERRORS = new Set([
  ...USER_ERRORS,
  'ValidationException',
  'ImageNotFoundException',
  'RepositoryNotFoundException',
]);

/** One finding of a basic or an enhanced (Amazon Inspector) scan. */
export interface ScanFinding {
  /** CVE id or finding name. */
  name: string;
  /** ECR's severity as written: INFORMATIONAL…CRITICAL, UNDEFINED, or Inspector's UNTRIAGED. */
  severity: string;
  package?: string;
}

/** What DescribeImageScanFindings says about one image, all pages read. */
export type ScanAnswer =
  | { kind: 'noScan' } // ScanNotFoundException: nobody started a scan of this image
  | {
      kind: 'scan';
      /** imageScanStatus.status, e.g. IN_PROGRESS, COMPLETE, ACTIVE, FAILED. */
      status: string | undefined;
      description: string | undefined;
      /** Inspector's findings (enhancedFindings), not basic scanning's. */
      enhanced: boolean;
      findings: ScanFinding[];
      /** findingSeverityCounts: ECR's totals, which may name findings the list has not got yet. */
      severityCounts: Record<string, number>;
      /** imageScanCompletedAt, when ECR says the scan finished. */
      completedAt: string | undefined;
    };

/** What StartImageScan did. */
export type StartScanResult =
  | { kind: 'started'; status: string | undefined }
  /** LimitExceededException: the image was already scanned today (one scan a day per image). */
  | { kind: 'alreadyScanned'; message: string }
  /** UnsupportedImageTypeException, ValidationException (e.g. enhanced scanning, which cannot be
   * started by hand), ImageArchivedException: no scan will come of asking again. */
  | { kind: 'refused'; error: string; message: string };

const REFUSED_SCANS = new Set([
  'UnsupportedImageTypeException',
  'ValidationException',
  'ImageArchivedException',
]);

/** More pages than this is a loop (a server repeating its nextToken), not an image. */
const MAX_FINDING_PAGES = 100;

export interface EcrOptions extends AwsClientOptions {
  /** The client for a region; by default one ECRClient per region (tests pass a fake). */
  clientFor?: (region: string) => ECRClient;
}

/** The ECR repositories the operator pushes to and reads from. */
export class EcrRepositories {
  private readonly client: (region: string) => ECRClient;

  constructor(options: EcrOptions = {}) {
    this.client = options.clientFor ?? regionalClients((config) => new ECRClient(config), options);
  }

  /** Creates the repository unless it exists; settings apply only to a new one. */
  async ensureRepository(
    repo: RepositoryRef,
    settings: { scanOnPush: boolean; tagMutability: string },
  ): Promise<boolean> {
    try {
      await this.client(repo.region).send(
        new CreateRepositoryCommand({
          registryId: repo.registryId,
          repositoryName: repo.name,
          imageScanningConfiguration: { scanOnPush: settings.scanOnPush },
          imageTagMutability: settings.tagMutability as 'MUTABLE' | 'IMMUTABLE',
        }),
      );
      return true;
    } catch (err) {
      if ((err as Error).name === 'RepositoryAlreadyExistsException') return false;
      throw this.wrap(err, `creating ECR repository ${repo.uri}`);
    }
  }

  /** The digest of `tag`, or undefined when the repository has no such tag. */
  async digestOfTag(repo: RepositoryRef, tag: string): Promise<string | undefined> {
    try {
      const out = await this.client(repo.region).send(
        new DescribeImagesCommand({
          registryId: repo.registryId,
          repositoryName: repo.name,
          imageIds: [{ imageTag: tag }],
        }),
      );
      return out.imageDetails?.[0]?.imageDigest;
    } catch (err) {
      const name = (err as Error).name;
      if (name === 'ImageNotFoundException' || name === 'RepositoryNotFoundException') return undefined;
      throw this.wrap(err, `looking up ${repo.uri}:${tag}`);
    }
  }

  /** The scan of the image `digest`: its status and every finding, or noScan. */
  async scanFindings(repo: RepositoryRef, digest: string): Promise<ScanAnswer> {
    const pages: DescribeImageScanFindingsCommandOutput[] = [];
    const tokens = new Set<string>();
    let nextToken: string | undefined;
    try {
      do {
        const page = await this.client(repo.region).send(
          new DescribeImageScanFindingsCommand({
            registryId: repo.registryId,
            repositoryName: repo.name,
            imageId: { imageDigest: digest },
            maxResults: 1000,
            ...(nextToken ? { nextToken } : {}),
          }),
        );
        // A token seen before asks for a page already read: a loop (moto repeats a registered
        // result whatever the token), so this page is a repeat and the list is complete.
        const repeat = page.nextToken !== undefined && tokens.has(page.nextToken);
        if (!repeat) pages.push(page);
        nextToken = repeat ? undefined : page.nextToken;
        if (nextToken) tokens.add(nextToken);
      } while (nextToken && pages.length < MAX_FINDING_PAGES);
    } catch (err) {
      if ((err as Error).name === 'ScanNotFoundException') return { kind: 'noScan' };
      throw this.wrap(err, `reading the scan of ${repo.uri}@${digest}`, SCAN_USER_ERRORS);
    }
    // Judging part of the findings could pass an image that fails: refuse instead.
    if (nextToken)
      throw new EcrError(
        `reading the scan of ${repo.uri}@${digest} failed: more than ${MAX_FINDING_PAGES} pages of findings`,
        true,
      );
    return scanAnswer(pages);
  }

  /** Starts a basic scan of the image `digest`. */
  async startScan(repo: RepositoryRef, digest: string): Promise<StartScanResult> {
    try {
      const out = await this.client(repo.region).send(
        new StartImageScanCommand({
          registryId: repo.registryId,
          repositoryName: repo.name,
          imageId: { imageDigest: digest },
        }),
      );
      return { kind: 'started', status: out.imageScanStatus?.status };
    } catch (err) {
      const { name } = err as Error;
      if (name === 'LimitExceededException') return { kind: 'alreadyScanned', message: describeError(err) };
      if (REFUSED_SCANS.has(name)) return { kind: 'refused', error: name, message: describeError(err) };
      throw this.wrap(err, `starting the scan of ${repo.uri}@${digest}`, SCAN_USER_ERRORS);
    }
  }

  private wrap(err: unknown, doing: string, userErrors: ReadonlySet<string> = USER_ERRORS): EcrError {
    const { name } = err as Error;
    return new EcrError(`${doing} failed: ${describeError(err)}`, userErrors.has(name), { cause: err });
  }
}

/** Basic and enhanced findings of every page as one list. */
function scanAnswer(pages: DescribeImageScanFindingsCommandOutput[]): ScanAnswer {
  const first = pages[0];
  const findings: ScanFinding[] = [];
  let enhanced = false;
  for (const page of pages) {
    const f = page.imageScanFindings;
    for (const b of f?.findings ?? []) {
      const pkg = b.attributes?.find((a) => a.key === 'package_name')?.value;
      findings.push(finding(b.name ?? b.uri, b.severity, pkg));
    }
    if (f?.enhancedFindings) enhanced = true;
    for (const e of f?.enhancedFindings ?? []) {
      const details = e.packageVulnerabilityDetails;
      findings.push(
        finding(
          details?.vulnerabilityId ?? e.title ?? e.findingArn,
          e.severity,
          details?.vulnerablePackages?.[0]?.name,
        ),
      );
    }
  }
  const counts = first?.imageScanFindings?.findingSeverityCounts ?? {};
  const completedAt = first?.imageScanFindings?.imageScanCompletedAt;
  return {
    kind: 'scan',
    status: first?.imageScanStatus?.status,
    description: first?.imageScanStatus?.description,
    enhanced,
    findings,
    severityCounts: Object.fromEntries(Object.entries(counts).filter(([, n]) => typeof n === 'number')),
    completedAt: isoTime(completedAt),
  };
}

const finding = (
  name: string | undefined,
  severity: string | undefined,
  pkg: string | undefined,
): ScanFinding => ({
  name: name ?? 'unnamed finding',
  severity: severity?.toUpperCase() ?? 'UNDEFINED',
  ...(pkg ? { package: pkg } : {}),
});

const isoTime = (at: Date | string | undefined): string | undefined => {
  const ms = at === undefined ? NaN : new Date(at).getTime();
  return Number.isNaN(ms) ? undefined : new Date(ms).toISOString();
};
