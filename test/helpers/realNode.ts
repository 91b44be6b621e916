// The bed's real node (test/bed/node/node.sh): a kubelet with containerd that runs Pods for
// real, an image registry mirrored into moto's ECR, and the images the bed builds for it.
import { required } from './bed.js';
import { kubectlOk } from './kubectl.js';

export const realNode = {
  get name() {
    return required('BED_REAL_NODE');
  },
  get taintKey() {
    return required('BED_REAL_NODE_TAINT');
  },
  /** The host as Pods see it. */
  get hostIp() {
    return required('BED_HOST_IP');
  },
  /** MLflow and moto, as Pods reach them. */
  get mlflowUri() {
    return required('BED_POD_MLFLOW_URI');
  },
  get motoUrl() {
    return required('BED_POD_MOTO_URL');
  },
  /** Plain-HTTP registry (host:port) that backs the bed's ECR. */
  get registry() {
    return required('BED_REGISTRY');
  },
  get pythonImage() {
    return required('BED_PYTHON_IMAGE');
  },
  get testsImage() {
    return required('BED_TESTS_IMAGE');
  },
  get kanikoImage() {
    return required('BED_KANIKO_IMAGE');
  },
  /** s3:// URL of the demo service's build context (moto's S3). */
  get demoContext() {
    return required('BED_DEMO_CONTEXT');
  },
};

/** Annotations that send a namespace's Pods to the real node, and only there. */
export function realNodeAnnotations(): Record<string, string> {
  return {
    'scheduler.alpha.kubernetes.io/node-selector': 'type=real',
    'scheduler.alpha.kubernetes.io/defaultTolerations': JSON.stringify([
      { key: realNode.taintKey, operator: 'Exists', effect: 'NoSchedule' },
    ]),
  };
}

/** A fresh namespace whose Pods run on the real node. */
export async function createRealNodeNamespace(prefix: string): Promise<string> {
  const name = `${prefix}-${Date.now().toString(36)}`;
  await kubectlOk(
    ['apply', '-f', '-'],
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name, annotations: realNodeAnnotations() },
    }),
  );
  return name;
}
