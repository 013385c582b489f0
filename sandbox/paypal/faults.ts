/**
 * Failures on demand, so tests can prove the store copes with PayPal being down, slow or cut off.
 * A fault is armed for the next request to one endpoint and strikes once.
 */
import type { RequestHandler, Response } from 'express';
import { PayPalApiError } from './errors.js';

export type FaultPoint = 'create' | 'capture' | 'token' | 'refund' | 'verify';
/** http500: PayPal's INTERNAL_SERVER_ERROR. timeout: no answer, ever. reset: the connection is torn down. */
export type FaultMode = 'http500' | 'timeout' | 'reset';

export interface FaultOptions {
  /**
   * Strike after the stand-in has done the work (order created, payment captured) instead of
   * before: the "it happened but the answer was lost" case that PayPal-Request-Id exists for.
   */
  afterProcessing?: boolean;
}

interface Fault {
  mode: FaultMode;
  afterProcessing: boolean;
}

export class Faults {
  private readonly armed = new Map<FaultPoint, Fault[]>();
  private readonly hanging = new Set<Response>();

  arm(point: FaultPoint, mode: FaultMode, options: FaultOptions = {}): void {
    const queue = this.armed.get(point) ?? [];
    queue.push({ mode, afterProcessing: options.afterProcessing === true });
    this.armed.set(point, queue);
  }

  /** Middleware placed in front of the endpoint's handler. */
  at(point: FaultPoint): RequestHandler {
    return (_req, res, next) => {
      const fault = this.armed.get(point)?.shift();
      if (!fault) return next();
      if (!fault.afterProcessing) return this.strike(fault.mode, res);
      // http.ts's reply() calls this in place of sending the handler's answer.
      res.locals.strikeInsteadOfReplying = () => this.strike(fault.mode, res);
      next();
    };
  }

  /** Connections left hanging by 'timeout' would keep the server from closing. */
  releaseHanging(): void {
    for (const res of this.hanging) res.socket?.destroy();
    this.hanging.clear();
  }

  private strike(mode: FaultMode, res: Response): void {
    res.locals.strikeInsteadOfReplying = undefined;
    if (mode === 'http500') {
      res.status(500).json(new PayPalApiError(500).body());
    } else if (mode === 'reset') {
      // A TCP reset, not a polite close: the client sees ECONNRESET mid-request.
      res.socket?.resetAndDestroy();
    } else {
      this.hanging.add(res);
      res.on('close', () => this.hanging.delete(res));
    }
  }
}
