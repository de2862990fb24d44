import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { LogLevel, RedirectLogger, parseLogLevel } from './interaction_env_logger.ts';

void describe('RedirectLogger', () => {
  void it('prints log lines at or above the level, and all harness output', () => {
    const l = new RedirectLogger();
    l.level = LogLevel.INFO;
    l.debug('hidden');
    l.info('shown');
    l.warning('careful');
    l.write('> harness\n');
    l.error('bad\n');
    l.panic('boom');
    assert.equal(l.text(), 'INFO shown\nWARN careful\n> harness\nERROR bad\nFATAL boom\n');
  });

  void it('swallows everything at NONE', () => {
    const l = new RedirectLogger();
    l.level = LogLevel.NONE;
    l.write('harness');
    l.fatal('x');
    assert.equal(l.quiet(), true);
    assert.equal(l.text(), '');
  });

  void it('indents what a sub-step printed, including a last line without newline', () => {
    const l = new RedirectLogger();
    l.write('> 1 handling Ready\n');
    const r = l.withIndent(() => {
      l.write('Ready MustSync=false:\nMessages:\n1->2 MsgApp');
      l.info('after');
      return 7;
    });
    assert.equal(r, 7);
    l.withIndent(() => {});
    assert.equal(
      l.text(),
      '> 1 handling Ready\n  Ready MustSync=false:\n  Messages:\n  1->2 MsgAppINFO after\n',
    );
  });

  void it('keeps the indented output of a sub-step that throws', () => {
    const l = new RedirectLogger();
    assert.throws(() =>
      l.withIndent(() => {
        l.write('partial\n');
        throw new Error('stop');
      }),
    );
    assert.equal(l.text(), '  partial\n');
  });

  void it('resets the buffer but keeps the level', () => {
    const l = new RedirectLogger();
    l.level = LogLevel.WARN;
    l.write('x');
    l.reset();
    assert.equal(l.text(), '');
    assert.equal(l.level, LogLevel.WARN);
  });

  void it('parses level names case-insensitively', () => {
    assert.equal(parseLogLevel('warn'), LogLevel.WARN);
    assert.equal(parseLogLevel('None'), LogLevel.NONE);
    assert.equal(parseLogLevel('warning'), undefined);
  });
});
