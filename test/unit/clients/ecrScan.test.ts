// EcrRepositories.scanFindings and startScan over a fake ECRClient: ECR's pages and errors in,
// one normalised answer (or a typed error) out.
import { describe, expect, it } from '@jest/globals';
import {
  DescribeImageScanFindingsCommand,
  StartImageScanCommand,
  type DescribeImageScanFindingsCommandOutput,
  type ECRClient,
} from '@aws-sdk/client-ecr';
import { EcrError, EcrRepositories, parseRepository } from '../../../src/clients/ecr.js';
import { DIGEST_A, REPO } from '../helpers/pipelineFixtures.js';

const repo = parseRepository(REPO);

/** An error as the SDK throws it for an ECR error response. */
const awsError = (name: string, message = `${name} message`) =>
  Object.assign(new Error(message), { name, $metadata: { httpStatusCode: 400 } });

type Page = Partial<DescribeImageScanFindingsCommandOutput>;

/** EcrRepositories over a fake client: `answer` gets each command, returns its output or throws. */
function ecrWith(answer: (command: object) => unknown) {
  const sent: { name: string; input: Record<string, unknown> }[] = [];
  const regions: string[] = [];
  const client = {
    send: async (command: { input: Record<string, unknown> }) => {
      sent.push({ name: command.constructor.name, input: command.input });
      const out = answer(command);
      if (out instanceof Error) throw out;
      return out;
    },
  } as unknown as ECRClient;
  const ecr = new EcrRepositories({
    clientFor: (region) => {
      regions.push(region);
      return client;
    },
  });
  return { ecr, sent, regions };
}

/** Answers DescribeImageScanFindings page by page, by nextToken ('' for the first). */
const pages =
  (byToken: Record<string, Page | Error>) =>
  (command: object): unknown => {
    if (!(command instanceof DescribeImageScanFindingsCommand)) throw new Error('unexpected command');
    return byToken[command.input.nextToken ?? ''];
  };

describe('EcrRepositories.scanFindings', () => {
  it('reads every page and normalises basic findings', async () => {
    const { ecr, sent, regions } = ecrWith(
      pages({
        '': {
          imageScanStatus: { status: 'COMPLETE', description: 'The scan was completed successfully.' },
          imageScanFindings: {
            imageScanCompletedAt: new Date('2025-01-01T00:00:00Z'),
            findingSeverityCounts: { HIGH: 1, LOW: 1 },
            findings: [
              {
                name: 'CVE-2024-1',
                severity: 'HIGH',
                attributes: [
                  { key: 'package_version', value: '1.0' },
                  { key: 'package_name', value: 'openssl' },
                ],
              },
            ],
          },
          nextToken: 'p2',
        },
        p2: { imageScanFindings: { findings: [{ name: 'CVE-2024-2', severity: 'LOW' }] } },
      }),
    );
    await expect(ecr.scanFindings(repo, DIGEST_A)).resolves.toEqual({
      kind: 'scan',
      status: 'COMPLETE',
      description: 'The scan was completed successfully.',
      enhanced: false,
      findings: [
        { name: 'CVE-2024-1', severity: 'HIGH', package: 'openssl' },
        { name: 'CVE-2024-2', severity: 'LOW' },
      ],
      severityCounts: { HIGH: 1, LOW: 1 },
      completedAt: '2025-01-01T00:00:00.000Z',
    });
    expect(regions).toEqual(['eu-west-1', 'eu-west-1']);
    expect(sent.map((s) => s.input)).toEqual([
      {
        registryId: '123456789012',
        repositoryName: 'churn-api',
        imageId: { imageDigest: DIGEST_A },
        maxResults: 1000,
      },
      {
        registryId: '123456789012',
        repositoryName: 'churn-api',
        imageId: { imageDigest: DIGEST_A },
        maxResults: 1000,
        nextToken: 'p2',
      },
    ]);
  });

  it('names enhanced (Inspector) findings by vulnerability id, else title', async () => {
    const { ecr } = ecrWith(
      pages({
        '': {
          imageScanStatus: { status: 'ACTIVE', description: 'Continuous scan is selected for image.' },
          imageScanFindings: {
            enhancedFindings: [
              {
                severity: 'CRITICAL',
                title: 'CVE-2024-9 - glibc',
                packageVulnerabilityDetails: {
                  vulnerabilityId: 'CVE-2024-9',
                  source: 'NVD',
                  vulnerablePackages: [{ name: 'glibc', version: '2.1' }],
                },
              },
              { severity: 'untriaged', title: 'GHSA-xxxx' },
            ],
          },
        },
      }),
    );
    await expect(ecr.scanFindings(repo, DIGEST_A)).resolves.toMatchObject({
      status: 'ACTIVE',
      enhanced: true,
      findings: [
        { name: 'CVE-2024-9', severity: 'CRITICAL', package: 'glibc' },
        { name: 'GHSA-xxxx', severity: 'UNTRIAGED' },
      ],
      severityCounts: {},
      completedAt: undefined,
    });
  });

  it('an empty enhancedFindings list still says the scan is enhanced', async () => {
    const { ecr } = ecrWith(
      pages({ '': { imageScanStatus: { status: 'COMPLETE' }, imageScanFindings: { enhancedFindings: [] } } }),
    );
    await expect(ecr.scanFindings(repo, DIGEST_A)).resolves.toMatchObject({ enhanced: true, findings: [] });
  });

  it('ScanNotFoundException: no scan, not an error', async () => {
    const { ecr } = ecrWith(() => awsError('ScanNotFoundException'));
    await expect(ecr.scanFindings(repo, DIGEST_A)).resolves.toEqual({ kind: 'noScan' });
  });

  it('a page repeating a token already read ends the list without its findings again', async () => {
    // moto answers a registered result, nextToken included, whatever token is asked for.
    const page: Page = {
      imageScanStatus: { status: 'COMPLETE' },
      imageScanFindings: { findings: [{ name: 'CVE-1', severity: 'LOW' }] },
      nextToken: 'tok',
    };
    const { ecr, sent } = ecrWith(pages({ '': page, tok: page }));
    const answer = await ecr.scanFindings(repo, DIGEST_A);
    expect(answer).toMatchObject({ findings: [{ name: 'CVE-1', severity: 'LOW' }] });
    expect(sent).toHaveLength(2);
  });

  it('refuses to judge part of the findings when the pages do not end', async () => {
    let n = 0;
    const { ecr, sent } = ecrWith(() => ({
      imageScanStatus: { status: 'COMPLETE' },
      imageScanFindings: { findings: [] },
      nextToken: `t${++n}`,
    }));
    const err = await ecr.scanFindings(repo, DIGEST_A).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EcrError);
    expect(err).toMatchObject({ userError: true, message: expect.stringContaining('more than 100 pages') });
    expect(sent).toHaveLength(100);
  });

  it.each([
    ['AccessDeniedException', true],
    ['ImageNotFoundException', true],
    ['RepositoryNotFoundException', true],
    ['ValidationException', true],
    ['ServerException', false],
    ['ThrottlingException', false],
  ])('%s is an EcrError, userError %s', async (name, userError) => {
    const { ecr } = ecrWith(() => awsError(name, 'no'));
    const err = await ecr.scanFindings(repo, DIGEST_A).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EcrError);
    expect(err).toMatchObject({
      userError,
      message: `reading the scan of ${REPO}@${DIGEST_A} failed: ${name}: no`,
    });
  });

  it('a network failure is transient', async () => {
    const { ecr } = ecrWith(() => Object.assign(new Error('connect'), { code: 'ECONNREFUSED' }));
    await expect(ecr.scanFindings(repo, DIGEST_A)).rejects.toMatchObject({
      userError: false,
      message: expect.stringContaining('connection refused'),
    });
  });
});

describe('EcrRepositories.startScan', () => {
  const start =
    (out: unknown) =>
    (command: object): unknown => {
      if (!(command instanceof StartImageScanCommand)) throw new Error('unexpected command');
      return out;
    };

  it('starts a scan of the digest', async () => {
    const { ecr, sent } = ecrWith(start({ imageScanStatus: { status: 'IN_PROGRESS' } }));
    await expect(ecr.startScan(repo, DIGEST_A)).resolves.toEqual({ kind: 'started', status: 'IN_PROGRESS' });
    expect(sent).toEqual([
      {
        name: 'StartImageScanCommand',
        input: {
          registryId: '123456789012',
          repositoryName: 'churn-api',
          imageId: { imageDigest: DIGEST_A },
        },
      },
    ]);
  });

  it('LimitExceededException: scanned today already', async () => {
    const { ecr } = ecrWith(
      start(awsError('LimitExceededException', 'The scan quota per image has been exceeded.')),
    );
    await expect(ecr.startScan(repo, DIGEST_A)).resolves.toEqual({
      kind: 'alreadyScanned',
      message: 'LimitExceededException: The scan quota per image has been exceeded.',
    });
  });

  it.each(['UnsupportedImageTypeException', 'ValidationException', 'ImageArchivedException'])(
    '%s: refused, no scan will come',
    async (name) => {
      const { ecr } = ecrWith(start(awsError(name, 'not this one')));
      await expect(ecr.startScan(repo, DIGEST_A)).resolves.toEqual({
        kind: 'refused',
        error: name,
        message: `${name}: not this one`,
      });
    },
  );

  it.each([
    ['AccessDeniedException', true],
    ['ImageNotFoundException', true],
    ['ServerException', false],
  ])('%s is an EcrError, userError %s', async (name, userError) => {
    const { ecr } = ecrWith(start(awsError(name, 'no')));
    await expect(ecr.startScan(repo, DIGEST_A)).rejects.toMatchObject({
      name: 'EcrError',
      userError,
      message: `starting the scan of ${REPO}@${DIGEST_A} failed: ${name}: no`,
    });
  });
});
