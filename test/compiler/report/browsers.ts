// The browsers the report tests open the page in: Debian's Chromium and Firefox ESR, found on
// PATH (or named by $MPCC_CHROMIUM / $MPCC_FIREFOX) and launched headless through puppeteer-core
// on the system binary — Chromium over CDP, Firefox over WebDriver BiDi; nothing is downloaded.
// Each launch gets a fresh profile folder of its own, and flags or prefs that keep the browser
// off the network (the page is a local file; no test may wait on, or be slowed by, a request):
// run under strace, this Firefox makes no connection and no DNS query beyond the loopback.
import { accessSync, constants, mkdtempSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import puppeteer, { type Browser } from 'puppeteer-core';

/** A browser the tests run in: its name, the environment variable naming another binary, the binaries looked for on PATH. */
export interface BrowserKind {
  readonly name: 'Chromium' | 'Firefox';
  readonly env: string;
  readonly binaries: readonly string[];
  readonly install: string;
}

export const CHROMIUM: BrowserKind = { name: 'Chromium', env: 'MPCC_CHROMIUM', binaries: ['chromium', 'chromium-browser', 'google-chrome'], install: "Debian's chromium" };
export const FIREFOX: BrowserKind = { name: 'Firefox', env: 'MPCC_FIREFOX', binaries: ['firefox-esr', 'firefox'], install: "Debian's firefox-esr" };

/** The binary to drive: $env, else the first of the usual names on PATH; undefined when there is none. */
export function findBrowser(kind: BrowserKind): string | undefined {
  const named = process.env[kind.env];
  if (named) return named;
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    for (const name of kind.binaries) {
      const path = join(dir, name);
      try {
        accessSync(path, constants.X_OK);
        return path;
      } catch {
        // not here
      }
    }
  }
  return undefined;
}

/** Chromium's flags: no sandbox (root in a container), no GPU, and no background requests. */
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/**
 * Firefox prefs beyond puppeteer's own test profile (which already turns off updates, safe
 * browsing, health reports, the blocklist server and speculative connections): the remaining
 * background requests a fresh profile makes — connectivity and captive-portal checks, DNS over
 * HTTPS, telemetry, remote settings, region and geolocation look-ups, studies, prefetching.
 */
const FIREFOX_PREFS: Record<string, string | number | boolean> = {
  // Firefox's own no-op server for tests (what its remote agent recommends; a release build honours
  // it only with MOZ_DISABLE_NONLOCAL_CONNECTIONS=1 in the environment, set at launch below)
  'services.settings.server': 'data:,#remote-settings-dummy/v1',
  'network.connectivity-service.enabled': false,
  'network.captive-portal-service.enabled': false,
  'captivedetect.canonicalURL': '',
  'network.trr.mode': 5,
  'network.dns.disablePrefetch': true,
  'network.prefetch-next': false,
  'network.predictor.enabled': false,
  'toolkit.telemetry.enabled': false,
  'toolkit.telemetry.unified': false,
  'toolkit.telemetry.archive.enabled': false,
  'toolkit.telemetry.server': '',
  'datareporting.usage.uploadEnabled': false,
  'browser.ping-centre.telemetry': false,
  'browser.newtabpage.activity-stream.telemetry': false,
  'browser.newtabpage.activity-stream.feeds.telemetry': false,
  'browser.region.network.url': '',
  'browser.region.update.enabled': false,
  'geo.provider.network.url': '',
  'app.shield.optoutstudies.enabled': false,
  'app.normandy.enabled': false,
  'messaging-system.rsexperimentloader.enabled': false,
  'extensions.blocklist.enabled': false,
  'extensions.systemAddon.update.enabled': false,
  'browser.safebrowsing.provider.mozilla.updateURL': '',
  'browser.safebrowsing.provider.google4.updateURL': '',
  'browser.topsites.contile.enabled': false,
  'browser.discovery.enabled': false,
  'identity.fxaccounts.enabled': false,
  'security.OCSP.enabled': 0,
  'security.remote_settings.crlite_filters.enabled': false,
  'security.remote_settings.intermediates.enabled': false,
};

/** Launches `kind` headless from `executable`, with a fresh profile folder made under `dir`. */
export async function launchBrowser(kind: BrowserKind, executable: string, dir: string): Promise<Browser> {
  const profile = mkdtempSync(join(dir, `${kind.name.toLowerCase()}-profile-`));
  const common = { executablePath: executable, headless: true, userDataDir: profile, defaultViewport: { width: 1400, height: 900 }, timeout: 60000, protocolTimeout: 120000 } as const;
  if (kind === FIREFOX) return puppeteer.launch({ ...common, browser: 'firefox', extraPrefsFirefox: FIREFOX_PREFS, env: { ...process.env, MOZ_DISABLE_NONLOCAL_CONNECTIONS: '1' } });
  return puppeteer.launch({ ...common, browser: 'chrome', args: CHROMIUM_ARGS });
}
