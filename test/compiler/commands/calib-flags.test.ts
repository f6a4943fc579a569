// The calibration flags (compiler/commands/calib-flags.ts): parsed through commander as a
// command declares them, values turned into CalibrationOptions, and every bad value MPCC0004
// naming its flag.
import { expect } from 'chai';
import { Command } from 'commander';
import { calibrationOptionsFrom, withCalibFlags } from '../../../compiler/commands/calib-flags.js';
import { MpccError } from '../../../runtime/diagnostics.js';

/** The options of `argv` parsed by a command with the calibration flags. */
function parse(argv: string[]) {
  const cmd = withCalibFlags(new Command('plan')).exitOverride().allowExcessArguments(false);
  cmd.parse(argv, { from: 'user' });
  return calibrationOptionsFrom(cmd.opts());
}

/** The MPCC0004 a bad value raises; checks the flag is named. */
function badFlag(argv: string[], flag: string, value: string): string {
  try {
    parse(argv);
  } catch (err) {
    if (!(err instanceof MpccError)) throw err;
    expect(err.code).to.equal('MPCC0004');
    // a value shown: "invalid value 'V' for flag F: ..."; none: "flag F: ..."
    if (value === '') expect(err.message).to.match(new RegExp(`^flag ${flag}: `));
    else expect(err.message).to.contain(`for flag ${flag}`).and.to.contain(`'${value}'`);
    return err.message;
  }
  throw new Error(`expected MPCC0004 for ${argv.join(' ')}`);
}

describe('calibration flags', () => {
  it('no --calib: no calibration', () => {
    expect(parse([])).to.equal(undefined);
  });

  it('parses sizes (S, HxW, H,W), number lists, the preset and the sample count', () => {
    expect(parse(['--calib', 'imgs/', '--resize', '256', '--crop', '224x200', '--mean', '0.5, 0.4,0.3', '--std', '0.2,0.2,0.2', '--preset', 'imagenet', '--calib-samples', '64'])).to.deep.equal({
      calib: 'imgs/', resize: 256, crop: [224, 200], mean: [0.5, 0.4, 0.3], std: [0.2, 0.2, 0.2], preset: 'imagenet', calibSamples: 64,
    });
    expect(parse(['--calib', 'x.npy', '--resize', '30,40', '--crop', '7X9'])).to.deep.equal({ calib: 'x.npy', resize: [30, 40], crop: [7, 9] });
    expect(parse(['--calib', 'x.npy', '--mean', '-1e-1'])).to.deep.equal({ calib: 'x.npy', mean: [-0.1] });
  });

  it('MPCC0004 for each bad value, naming the flag', () => {
    expect(badFlag(['--calib', 'd', '--resize', '0'], '--resize', '0')).to.contain('S or HxW');
    badFlag(['--calib', 'd', '--resize', '12x'], '--resize', '12x');
    badFlag(['--calib', 'd', '--crop', '2x3x4'], '--crop', '2x3x4');
    badFlag(['--calib', 'd', '--crop', '1.5'], '--crop', '1.5');
    badFlag(['--calib', 'd', '--resize', '99999'], '--resize', '99999');
    badFlag(['--calib', 'd', '--mean', '0.5,,0.4'], '--mean', '0.5,,0.4');
    badFlag(['--calib', 'd', '--mean', 'abc'], '--mean', 'abc');
    expect(badFlag(['--calib', 'd', '--std', '0.2,0'], '--std', '0.2,0')).to.contain('positive');
    expect(badFlag(['--calib', 'd', '--preset', 'cifar'], '--preset', 'cifar')).to.contain('imagenet, none');
    badFlag(['--calib', 'd', '--calib-samples', '0'], '--calib-samples', '0');
    badFlag(['--calib', 'd', '--calib-samples', '3.5'], '--calib-samples', '3.5');
    badFlag(['--calib', ''], '--calib', '');
    expect(badFlag(['--resize', '256'], '--resize', '256')).to.contain('needs --calib');
    expect(badFlag(['--calib-samples', '8'], '--calib-samples', '8')).to.contain('needs --calib');
  });
});
