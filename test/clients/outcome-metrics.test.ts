import { describe, expect, it } from 'vitest';
import { multiclassMetrics, regressionMetrics } from '../../src/clients/outcome-metrics.ts';

/**
 * Known answers from scikit-learn 1.2.1 (Debian's python3-sklearn): accuracy_score, balanced_accuracy_score,
 * roc_auc_score(multi_class='ovr', average='macro'), roc_auc_score on label_binarize(y) with average='micro',
 * f1_score(average='macro'), log_loss; mean_squared_error, mean_absolute_error, r2_score.
 */
const y = Float32Array.from([0, 1, 2, 2, 1, 0, 2, 1, 0, 2]);
const p = Float32Array.from(
  [
    [0.7, 0.2, 0.1],
    [0.2, 0.5, 0.3],
    [0.1, 0.3, 0.6],
    [0.3, 0.4, 0.3],
    [0.6, 0.3, 0.1],
    [0.5, 0.25, 0.25],
    [0.2, 0.2, 0.6],
    [0.1, 0.8, 0.1],
    [0.3, 0.3, 0.4],
    [0.25, 0.25, 0.5],
  ].flat(),
);

describe('multi-class and regression metrics agree with scikit-learn', () => {
  it('accuracy, balanced accuracy, macro and micro AUROC, macro F1, log-loss; the confusion matrix', () => {
    const { metrics, confusion } = multiclassMetrics(y, p, 3, { calibrationBins: 10, minCellSize: 1 });
    expect(metrics.accuracy).toBeCloseTo(0.7, 6);
    expect(metrics.balanced_accuracy).toBeCloseTo(0.6944444444444443, 6);
    expect(metrics.auroc_macro).toBeCloseTo(0.9077380952380952, 6);
    expect(metrics.auroc_micro).toBeCloseTo(0.905, 6);
    expect(metrics.f1_macro).toBeCloseTo(0.6944444444444443, 6);
    expect(metrics.loss).toBeCloseTo(0.7292829697442567, 6);
    expect(Array.from(confusion)).toEqual([2, 0, 1, 1, 2, 0, 0, 1, 3]);
    expect(metrics.confusion_suppressed).toBe(0);
    expect(metrics.sensitivity__class_1).toBeCloseTo(2 / 3, 12);
  });

  it('withholds confusion cells and per-class metrics below the smallest reportable size', () => {
    const { metrics, confusion } = multiclassMetrics(y, p, 3, { calibrationBins: 10, minCellSize: 3 });
    expect(Array.from(confusion)).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 3]);
    expect(metrics.confusion_suppressed).toBe(7);
    expect(metrics.n__class_0).toBe(3);
    expect(metrics).not.toHaveProperty('n__class_3');
  });

  it('MSE, MAE and R²', () => {
    const m = regressionMetrics(
      Float32Array.from([1.5, 2, 3, 4.5, 6]),
      Float32Array.from([1, 2.5, 2.5, 5, 5.5]),
    );
    expect(m.mse).toBeCloseTo(0.25, 12);
    expect(m.mae).toBeCloseTo(0.5, 12);
    expect(m.r2).toBeCloseTo(0.9087591240875912, 12);
  });
});
