import { Router, type Request } from 'express';
import { z } from 'zod';
import { flash, flashNow } from '../web/flash.js';
import { parseBody } from '../web/params.js';
import { emptyBasket, type AddResult, type BasketService, type BasketState, type PricedBasket } from './basket.js';

const itemForm = z.object({
  kind: z.enum(['release', 'track']),
  id: z.coerce.number().int().min(1).max(Number.MAX_SAFE_INTEGER),
  back: z.string().optional(),
});

/** Only a path on this site: a form can never send the shopper to another origin. */
function safeReturnPath(back: string | undefined): string {
  // Bounded: a longer address would make a Location header that clients and proxies refuse.
  return back && /^\/(?![/\\])[\x21-\x7e]{0,2000}$/.test(back) ? back : '/basket';
}

export function basketOf(req: Request): BasketState {
  req.session.basket ??= emptyBasket();
  return req.session.basket;
}

export interface BasketRouteDeps {
  baskets: BasketService;
  /** For a signed-in customer: which basket lines they already own. */
  ownedLines: (req: Request, lines: PricedBasket['lines']) => Promise<Set<string>>;
}

export function basketRoutes({ baskets, ownedLines }: BasketRouteDeps): Router {
  const router = Router();

  router.get('/basket', async (req, res) => {
    const priced = await baskets.priced(req.session.basket ?? emptyBasket());
    if (priced.dropped > 0 && req.session.basket) {
      // Something in the basket was withdrawn from sale; keep the basket true to what can be bought.
      req.session.basket = {
        releases: priced.lines.filter((l) => l.kind === 'release').map((l) => l.id),
        tracks: priced.lines.filter((l) => l.kind === 'track').map((l) => l.id),
      };
      flashNow(res, 'info', 'Something in your basket is no longer on sale and has been taken out.');
    }
    res.render('basket/basket', { title: 'Your basket', robots: 'noindex', basket: priced, owned: await ownedLines(req, priced.lines) });
  });

  router.post('/basket/add', async (req, res) => {
    const form = parseBody(itemForm, req.body);
    const result = await baskets.add(basketOf(req), form.kind, form.id);
    for (const message of messagesFor(result)) flash(req, message.kind, message.text);
    res.redirect(303, safeReturnPath(form.back));
  });

  router.post('/basket/remove', (req, res) => {
    const form = parseBody(itemForm, req.body);
    baskets.remove(basketOf(req), form.kind, form.id);
    flash(req, 'info', 'Removed from your basket.');
    res.redirect(303, '/basket');
  });

  return router;
}

function messagesFor(result: AddResult): { kind: 'info' | 'error'; text: string }[] {
  switch (result.outcome) {
    case 'added': {
      const n = result.replacedTracks;
      const replaced =
        n === 0
          ? []
          : [
              {
                kind: 'info' as const,
                text: `The release includes ${n === 1 ? 'a track' : `${n} tracks`} you had added, so ${n === 1 ? 'it was' : 'they were'} taken out.`,
              },
            ];
      return [{ kind: 'info', text: `“${result.title}” is in your basket.` }, ...replaced];
    }
    case 'already-in-basket':
      return [{ kind: 'info', text: `“${result.title}” is already in your basket.` }];
    case 'covered-by-release':
      return [{ kind: 'info', text: `“${result.title}” is already in your basket as part of “${result.releaseTitle}”.` }];
    case 'not-for-sale':
      return [{ kind: 'error', text: 'Sorry, that is not on sale.' }];
  }
}
