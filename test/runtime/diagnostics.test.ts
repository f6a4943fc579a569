import { expect } from 'chai';
import { DIAGNOSTICS, diag, MpccError } from '../../runtime/diagnostics.js';

describe('diagnostics catalog', () => {
  it('fills templates and keeps the code', () => {
    const e = diag('MPCC1001', ['Foo', 13, 'node_7']);
    expect(e).to.be.instanceOf(MpccError);
    expect(e.code).to.equal('MPCC1001');
    expect(e.format()).to.equal("error MPCC1001: ONNX operator 'Foo' (opset 13) at node 'node_7' is not supported");
  });
  it('has well-formed codes', () => {
    for (const code of Object.keys(DIAGNOSTICS)) expect(code).to.match(/^MPCC\d{4}$/);
  });
});
