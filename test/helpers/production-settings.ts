/** What the privacy policy needs in production. */
export const privacyPolicySettings = {
  COMPANY_NAME: 'Aurora Records Ltd',
  INFO_OFFICER_NAME: 'Ingrid Officer',
  CONTACT_EMAIL: 'privacy@aurora.example',
};

/** A production store's database, session secret, address and policy: everything but the providers. */
export const productionBase = {
  NODE_ENV: 'production',
  DATABASE_URL: 'mysql://db/store',
  SESSION_SECRET: 'x'.repeat(40),
  PUBLIC_URL: 'https://music.example',
  ...privacyPolicySettings,
};
