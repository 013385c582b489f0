/**
 * File uploads (a music folder as a zip, a cover image) are multipart forms, which the store's
 * body parsers do not read, so the global CSRF check would find no token in them. These parsers
 * therefore run before that check, mounted in src/app.ts ahead of it: first the operator guard
 * (nobody else gets to send us a file), then multer, which fills req.body with the form's
 * `_csrf` field. The ordinary CSRF check then verifies that token as for any other form, and only
 * after it does the section's route act on the file. The token never travels in the URL.
 * A temporary upload is removed when the response ends, whatever the outcome.
 */
import fsp from 'node:fs/promises';
import os from 'node:os';
import { Router, type ErrorRequestHandler, type RequestHandler } from 'express';
import multer from 'multer';
import { findOperator } from '../access/operators.js';
import { requireOperator } from '../access/session.js';
import type { AdminDeps } from '../deps.js';
import { HttpError } from '../../web/errors.js';

export const MAX_ZIP_BYTES = 1024 * 1024 * 1024;
export const MAX_COVER_BYTES = 5 * 1024 * 1024;

export const IMPORT_PATH = '/admin/catalogue/import';
export const COVER_PATH = '/admin/catalogue/releases/:id/cover';

const LIMIT_MESSAGES: Record<string, string> = {
  LIMIT_FILE_SIZE: 'That file is too large.',
  LIMIT_FILE_COUNT: 'Please send one file at a time.',
  LIMIT_UNEXPECTED_FILE: 'That form sent an unexpected file.',
};

/** Multer's complaints are the sender's mistake: a clear 4xx, never a 500. */
const multerErrors: ErrorRequestHandler = (err, _req, _res, next) => {
  if (err instanceof multer.MulterError)
    return next(new HttpError(err.code === 'LIMIT_FILE_SIZE' ? 413 : 400, LIMIT_MESSAGES[err.code] ?? 'That upload could not be read.'));
  if (err && typeof err === 'object' && /multipart|boundary|unexpected end/i.test(String((err as Error).message)))
    return next(new HttpError(400, 'That upload could not be read.'));
  next(err);
};

const removeWhenDone: RequestHandler = (req, res, next) => {
  res.on('close', () => {
    if (req.file?.path) void fsp.rm(req.file.path, { force: true });
  });
  next();
};

export function adminUploadParsing(deps: Pick<AdminDeps, 'db' | 'clock'>): Router {
  const router = Router();
  const guard = requireOperator({ findOperator: (id: number) => findOperator(deps.db, id) }, deps.clock);
  const zip = multer({ dest: os.tmpdir(), limits: { fileSize: MAX_ZIP_BYTES, files: 1, fields: 5, parts: 6 } }).single('zip');
  const cover = multer({ storage: multer.memoryStorage(), limits: { fileSize: MAX_COVER_BYTES, files: 1, fields: 5, parts: 6 } }).single(
    'cover',
  );
  router.post(IMPORT_PATH, guard, removeWhenDone, zip, multerErrors);
  router.post(COVER_PATH, guard, cover, multerErrors);
  return router;
}
