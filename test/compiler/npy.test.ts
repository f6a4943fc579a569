// .npy reading and writing against files numpy itself wrote (numpy 1.x/2.x `np.save` and
// `np.lib.format.write_array`, bytes captured as base64 below).
import { expect } from 'chai';
import { decodeNpy, decodeNpyIntegers, encodeNpy } from '../../compiler/npy.js';
import { MpccError } from '../../runtime/diagnostics.js';

const fromNumpy = (b64: string) => new Uint8Array(Buffer.from(b64, 'base64'));
const HEAD = 'k05VTVBZAQB2AHsnZGVzY3InOiAn';
const PAD = 'ICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAo';
/** np.array([[1.5, -2, 3], [4, 5, 6.25]], dtype=np.float32), np.save */
const F4 = fromNumpy(`${HEAD}PGY0JywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDIsIDMpLCB9${PAD}AAMA/AAAAwAAAQEAAAIBAAACgQAAAyEA=`);
/** the same array as float64 */
const F8 = fromNumpy(`${HEAD}PGY4JywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDIsIDMpLCB9${PAD}AAAAAAAD4PwAAAAAAAADAAAAAAAAACEAAAAAAAAAQQAAAAAAAABRAAAAAAAAAGUA=`);
/** the same array written with format version 2.0 */
const V2 = fromNumpy('k05VTVBZAgB0AAAAeydkZXNjcic6ICc8ZjQnLCAnZm9ydHJhbl9vcmRlcic6IEZhbHNlLCAnc2hhcGUnOiAoMiwgMyksIH0gICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoAAMA/AAAAwAAAQEAAAIBAAACgQAAAyEA=');
/** np.asfortranarray of the array */
const FORTRAN = fromNumpy('k05VTVBZAQB2AHsnZGVzY3InOiAnPGY0JywgJ2ZvcnRyYW5fb3JkZXInOiBUcnVlLCAnc2hhcGUnOiAoMiwgMyksIH0gICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoAAMA/AACAQAAAAMAAAKBAAABAQAAAyEA=');
/** the same array big-endian, np.array(..., dtype='>f4') and '>f8' (numpy's byteswapped save) */
const BE4 = fromNumpy('k05VTVBZAQB2AHsnZGVzY3InOiAnPmY0JywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDIsIDMpLCB9ICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAo/wAAAwAAAAEBAAABAgAAAQKAAAEDIAAA=');
const BE8 = fromNumpy('k05VTVBZAQB2AHsnZGVzY3InOiAnPmY4JywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDIsIDMpLCB9ICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAo/+AAAAAAAAMAAAAAAAAAAQAgAAAAAAABAEAAAAAAAAEAUAAAAAAAAQBkAAAAAAAA=');
/** as int32 */
const I4 = fromNumpy(`${HEAD}PGk0JywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDIsIDMpLCB9${PAD}BAAAA/v///wMAAAAEAAAABQAAAAYAAAA=`);
/** np.float32(2.5).reshape(()) — a 0-d array */
const SCALAR = fromNumpy('k05VTVBZAQB2AHsnZGVzY3InOiAnPGY0JywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKCksIH0gICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoAACBA');

const VALUES = [1.5, -2, 3, 4, 5, 6.25];

function expectCode(fn: () => unknown, code: string, re: RegExp): void {
  try { fn(); } catch (err) {
    expect(err).to.be.instanceOf(MpccError);
    expect((err as MpccError).code).to.equal(code);
    expect((err as MpccError).message).to.match(re);
    return;
  }
  expect.fail(`expected ${code}`);
}

describe('.npy files', () => {
  it('reads numpy float32, float64 (converted), big-endian, version 2.0 and 0-d arrays', () => {
    for (const bytes of [F4, F8, V2, BE4, BE8]) {
      const a = decodeNpy(bytes, 'a.npy');
      expect(a.shape).to.deep.equal([2, 3]);
      expect(Array.from(a.data)).to.deep.equal(VALUES);
    }
    expect(decodeNpy(F8, 'a.npy').descr).to.equal('<f8');
    const s = decodeNpy(SCALAR, 's.npy');
    expect(s.shape).to.deep.equal([]);
    expect(Array.from(s.data)).to.deep.equal([2.5]);
  });

  it('writes byte for byte what numpy writes', () => {
    expect(Buffer.from(encodeNpy([2, 3], VALUES)).equals(Buffer.from(F4))).to.equal(true);
    expect(Buffer.from(encodeNpy([], [2.5])).equals(Buffer.from(SCALAR))).to.equal(true);
    const one = decodeNpy(encodeNpy([5], [1, 2, 3, 4, 5]), 'x');
    expect(one.shape).to.deep.equal([5]);
  });

  it('rejects other dtypes (MPCC3003), Fortran order, truncation and non-npy bytes (MPCC3001)', () => {
    expectCode(() => decodeNpy(I4, 'ints.npy'), 'MPCC3003', /input 'ints\.npy' has dtype '<i4' but the model expects float32/);
    expectCode(() => decodeNpy(FORTRAN, 'f.npy'), 'MPCC3001', /'f\.npy' is not a valid \.npy file: Fortran-order/);
    expectCode(() => decodeNpy(F4.subarray(0, F4.length - 3), 'cut.npy'), 'MPCC3001', /data is truncated/);
    expectCode(() => decodeNpy(F4.subarray(0, 40), 'cut.npy'), 'MPCC3001', /truncated header/);
    expectCode(() => decodeNpy(new TextEncoder().encode('1,2,3\n4,5,6\n'), 'x.csv'), 'MPCC3001', /magic/);
  });

  it('reads integer labels: numpy int32, and int64, int32, uint8 as encodeNpy writes them', () => {
    expect(decodeNpyIntegers(I4, 'ints.npy')).to.deep.equal({ shape: [2, 3], data: Int32Array.from([1, -2, 3, 4, 5, 6]), descr: '<i4' });
    const labels = [0, 9, 3, 255, 7];
    for (const descr of ['<i8', '<i4', '|u1'] as const) {
      const decoded = decodeNpyIntegers(encodeNpy([5], labels, descr), 'y.npy');
      expect([decoded.shape, Array.from(decoded.data), decoded.descr]).to.deep.equal([[5], labels, descr]);
    }
    // big-endian, as numpy writes np.array([3, -1, 70000], '>i8') and np.array([3, 65535, 7], '>u2')
    const beI8 = fromNumpy('k05VTVBZAQB2AHsnZGVzY3InOiAnPmk4JywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDMsKSwgfSAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoAAAAAAAAAA///////////AAAAAAABEXA=');
    const beU2 = fromNumpy('k05VTVBZAQB2AHsnZGVzY3InOiAnPnUyJywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDMsKSwgfSAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoAA///AAc=');
    expect(Array.from(decodeNpyIntegers(beI8, 'be.npy').data)).to.deep.equal([3, -1, 70000]);
    expect(Array.from(decodeNpyIntegers(beU2, 'be.npy').data)).to.deep.equal([3, 65535, 7]);
  });

  it('rejects float labels and int64 values beyond 32 bits (MPCC3008)', () => {
    expectCode(() => decodeNpyIntegers(F4, 'y.npy'), 'MPCC3008', /'y\.npy' has dtype '<f4': expected integers/);
    expectCode(() => decodeNpyIntegers(encodeNpy([2], [1, 2 ** 40], '<i8'), 'big.npy'), 'MPCC3008', /value 1099511627776 at index 1 is out of the 32-bit range/);
    expectCode(() => decodeNpyIntegers(encodeNpy([4], [1, 2, 3, 4], '<i8').subarray(0, 140), 'cut.npy'), 'MPCC3001', /data is truncated/);
  });
});
