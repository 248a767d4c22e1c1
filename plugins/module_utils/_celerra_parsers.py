# -*- coding: utf-8 -*-
# Copyright: mailops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure parsers of the Celerra Control Station CLI output (docs/celerra-cli.md).

Nothing here talks to a host: every function takes the text a command printed and returns plain
Python data, or raises CelerraParseError when the text is not in the documented format. This is a
private module of the collection (leading underscore): its interface may change without notice.
"""

from __future__ import annotations

import re

# ---------------------------------------------------------------------------------------------
# Names and validation patterns (the contract's "Names and versions")
# ---------------------------------------------------------------------------------------------

MOVER_RE = re.compile(r'^server_[0-9]+$')
FS_NAME_RE = re.compile(r'^[A-Za-z][A-Za-z0-9_.-]{0,63}$')
PATH_RE = re.compile(r'^/[A-Za-z][A-Za-z0-9_.-]{0,63}$')
HOSTNAME_RE = re.compile(
    r'^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?'
    r'(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$'
)
IPV4_RE = re.compile(r'^(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])(?:\.(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])){3}$')
FAMILY_RE = re.compile(r'^\d+(\.\d+){1,3}$')
CS_VERSION_RE = re.compile(r'^(\d+)\.(\d+)\.(\d+)-(\d+)$')
DM_VERSION_RE = re.compile(r'^T(\d+)\.(\d+)\.(\d+)\.(\d+)$')

EXPORT_OPTION_KEYS = ('rw', 'ro', 'root', 'access')

ERROR_RE = re.compile(r'^\s*Error\s+(\d{4}):\s*(.*?)\s+:\s+(.*?)\s*$')
# `server_3 : Error 2102: data mover not ready (reason 0)` (server_version's per-mover form)
SUBJECT_ERROR_RE = re.compile(r'^\s*(\S+)\s+:\s+Error\s+(\d{4}):\s*(.*?)\s*$')


class CelerraParseError(ValueError):
    """The output of a command is not in the format the contract documents."""

    def __init__(self, what, text, detail=None):
        self.what = what
        self.text = text
        msg = 'unexpected output from %s' % what
        if detail:
            msg += ': %s' % detail
        super().__init__(msg)


# ---------------------------------------------------------------------------------------------
# Validation helpers (shared by the client and the modules)
# ---------------------------------------------------------------------------------------------

def is_mover(value, allow_all=False):
    if not isinstance(value, str):
        return False
    if allow_all and value == 'ALL':
        return True
    return bool(MOVER_RE.fullmatch(value))


def is_fs_name(value):
    return isinstance(value, str) and bool(FS_NAME_RE.fullmatch(value))


def is_path(value):
    return isinstance(value, str) and bool(PATH_RE.fullmatch(value))


def is_host(value):
    """A host name (RFC 1123 labels) or a dotted IPv4 address, as NFS client lists hold them."""
    if not isinstance(value, str) or not value:
        return False
    if re.fullmatch(r'^[0-9.]+$', value):
        return bool(IPV4_RE.fullmatch(value))
    return bool(HOSTNAME_RE.fullmatch(value))


def is_family(value):
    return isinstance(value, str) and bool(FAMILY_RE.fullmatch(value))


# ---------------------------------------------------------------------------------------------
# Versions
# ---------------------------------------------------------------------------------------------

def version_tuple(version):
    """`4.2.16-5` (station), `T4.2.16.5` (mover) or a family `5.1` -> tuple of ints."""
    if not isinstance(version, str):
        raise ValueError('version must be a string, got %r' % (version,))
    m = CS_VERSION_RE.fullmatch(version) or DM_VERSION_RE.fullmatch(version)
    if m:
        return tuple(int(p) for p in m.groups())
    if FAMILY_RE.fullmatch(version):
        return tuple(int(p) for p in version.split('.'))
    raise ValueError('not a Celerra version: %r' % (version,))


def version_in_family(version, family):
    """True when the full `version` begins with every component of `family`."""
    if version is None:
        return False
    full = version_tuple(version)
    fam = version_tuple(family)
    return full[:len(fam)] == fam


def family_newer_than(family, version):
    """True when `family` is newer than `version` compared on the family's components."""
    fam = version_tuple(family)
    full = version_tuple(version)
    return fam > full[:len(fam)]


# ---------------------------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------------------------

def parse_error_line(line):
    """`Error NNNN: subject : message` -> dict(code, subject, message) or None."""
    m = ERROR_RE.match(line)
    if not m:
        return None
    return {'code': int(m.group(1)), 'subject': m.group(2), 'message': m.group(3)}


def find_error(*texts):
    """The first `Error NNNN:` line found in any of the texts (stdout first), or None."""
    for text in texts:
        for line in (text or '').splitlines():
            err = parse_error_line(line)
            if err:
                return err
    return None


def _lines(text):
    return [line.rstrip() for line in (text or '').splitlines() if line.strip()]


def _mover_header(line, what, text):
    """`server_2 :` -> `server_2`."""
    m = re.match(r'^\s*(server_[0-9]+)\s*:\s*$', line)
    if not m:
        raise CelerraParseError(what, text, 'expected a "server_N :" header line, got %r' % line)
    return m.group(1)


# ---------------------------------------------------------------------------------------------
# Read commands
# ---------------------------------------------------------------------------------------------

def parse_nas_version(text):
    """`nas_version` -> `4.2.16-5`."""
    lines = _lines(text)
    if len(lines) != 1 or not CS_VERSION_RE.match(lines[0].strip()):
        raise CelerraParseError('nas_version', text, 'expected one MAJOR.MINOR.PATCH-BUILD line')
    return lines[0].strip()


def parse_inconsistent(message):
    """The message of a 5005 error -> dict(from, to, step, steps, step_name, in_progress)."""
    m = re.search(r'upgrade\s+(\S+)\s+->\s+(\S+)\s+(failed|in progress)\s+at\s+step\s+(\d+)/(\d+)\s*(\S*)', message or '')
    if not m:
        return {'from': None, 'to': None, 'step': None, 'steps': None, 'step_name': None, 'in_progress': None}
    return {
        'from': m.group(1), 'to': m.group(2), 'in_progress': m.group(3) == 'in progress',
        'step': int(m.group(4)), 'steps': int(m.group(5)), 'step_name': m.group(6).rstrip(')') or None,
    }


def parse_server_version(text):
    """`server_version ALL` -> {mover: {version, ready, error}}."""
    movers = {}
    for line in _lines(text):
        m = SUBJECT_ERROR_RE.match(line)
        if m:
            movers[m.group(1)] = {'version': None, 'ready': False,
                                  'error': {'code': int(m.group(2)), 'subject': m.group(1), 'message': m.group(3)}}
            continue
        m = re.match(r'^\s*(server_[0-9]+)\s+:\s+Product:\s*(.*?)\s+Version:\s*(T\d+\.\d+\.\d+\.\d+)\s*$', line)
        if not m:
            raise CelerraParseError('server_version', text, 'unexpected line %r' % line)
        movers[m.group(1)] = {'version': m.group(3), 'product': m.group(2), 'ready': True, 'error': None}
    return movers


SERVER_TYPES = {1: 'nas', 4: 'standby'}


def parse_nas_server_list(text):
    """`nas_server -list` -> list of movers (groupID may be blank, as in the samples)."""
    lines = _lines(text)
    if not lines or not re.match(r'^\s*id\s+type\s+acl\s+slot\s+groupID\s+state\s+name\s*$', lines[0]):
        raise CelerraParseError('nas_server -list', text, 'missing the header line')
    movers = []
    for line in lines[1:]:
        fields = line.split()
        if len(fields) not in (6, 7) or not all(f.isdigit() for f in fields[:-1]) or not MOVER_RE.match(fields[-1]):
            raise CelerraParseError('nas_server -list', text, 'unexpected line %r' % line)
        type_code = int(fields[1])
        movers.append({
            'id': int(fields[0]),
            'type_code': type_code,
            'type': SERVER_TYPES.get(type_code, str(type_code)),
            'acl': int(fields[2]),
            'slot': int(fields[3]),
            'group_id': int(fields[4]) if len(fields) == 7 else None,
            'state': int(fields[-2]),
            'name': fields[-1],
        })
    return movers


def _key_values(text, what):
    """`key = value` blocks; an indented block under `key :` becomes a nested dict."""
    result = {}
    current = None
    for raw in (text or '').splitlines():
        if not raw.strip():
            continue
        indented = raw[:1].isspace()
        m = re.match(r'^\s*([A-Za-z_][A-Za-z0-9_]*)\s*([=:])\s?(.*?)\s*$', raw)
        if not m:
            raise CelerraParseError(what, text, 'unexpected line %r' % raw)
        key, sep, value = m.groups()
        if indented and current is not None:
            result[current][key] = value
        elif sep == ':' and value == '':
            current = key
            result[key] = {}
        else:
            current = None
            result[key] = value
    return result


def parse_nas_server_info(text):
    """`nas_server -info server_2` -> dict with `status.actual` split into words."""
    info = _key_values(text, 'nas_server -info')
    if 'name' not in info:
        raise CelerraParseError('nas_server -info', text, 'no name line')
    status = info.get('status') or {}
    actual = status.get('actual', '')
    info['actual'] = [w.strip() for w in actual.split(',') if w.strip()]
    info['ready'] = info['actual'][:1] == ['online'] and len(info['actual']) > 1 and info['actual'][1] in ('ready', 'active')
    return info


REASONS = {
    0: 'reset', 1: 'DOS booted', 3: 'DART loaded', 4: 'DART ready', 5: 'contacted', 7: 'panic',
    10: 'primary control station',
}


def parse_getreason(text):
    """`getreason` -> list of {code, slot, text, mover} (mover is server_<slot>, None for the station)."""
    entries = []
    for line in _lines(text):
        m = re.match(r'^\s*(\d+)\s+-\s+slot_(\d+)\s+(.*?)\s*$', line)
        if not m:
            raise CelerraParseError('getreason', text, 'unexpected line %r' % line)
        code, slot, label = int(m.group(1)), int(m.group(2)), m.group(3)
        station = 'control station' in label
        entries.append({
            'code': code, 'slot': slot, 'text': label,
            'reason': REASONS.get(code, 'unknown'),
            'mover': None if station else 'server_%d' % slot,
        })
    return entries


def parse_nas_fs_list(text):
    """`nas_fs -list` -> list of file systems; `server` is the nas_server id or None."""
    lines = _lines(text)
    if not lines or not re.match(r'^\s*id\s+inuse\s+type\s+acl\s+volume\s+name\s+server\s*$', lines[0]):
        raise CelerraParseError('nas_fs -list', text, 'missing the header line')
    result = []
    for line in lines[1:]:
        fields = line.split()
        if len(fields) not in (6, 7) or fields[1] not in ('y', 'n') or not FS_NAME_RE.match(fields[5]):
            raise CelerraParseError('nas_fs -list', text, 'unexpected line %r' % line)
        if not (fields[0].isdigit() and fields[2].isdigit() and fields[3].isdigit()):
            raise CelerraParseError('nas_fs -list', text, 'unexpected line %r' % line)
        server = None
        if len(fields) == 7:
            if not re.match(r'^\d+(,\d+)*$', fields[6]):
                raise CelerraParseError('nas_fs -list', text, 'unexpected server column in %r' % line)
            server = int(fields[6].split(',')[0])
        result.append({
            'id': int(fields[0]), 'inuse': fields[1] == 'y', 'type': int(fields[2]), 'acl': int(fields[3]),
            'volume': fields[4], 'name': fields[5], 'server': server,
            'root': fields[5].startswith('root_fs_'),
        })
    return result


def parse_nas_fs_info(text):
    """`nas_fs -info fs` -> dict; rw_servers/ro_servers as lists, size split into numbers."""
    info = _key_values(text, 'nas_fs -info')
    if 'name' not in info:
        raise CelerraParseError('nas_fs -info', text, 'no name line')
    for key in ('rw_servers', 'ro_servers'):
        info[key] = [s for s in re.split(r'[,\s]+', info.get(key, '') or '') if s]
    size = info.get('size') or ''
    m = re.search(r'total\s*=\s*(\d+)\s+avail\s*=\s*(\d+)\s+used\s*=\s*(\d+)', size)
    if m:
        info['size_mb'] = {'total': int(m.group(1)), 'avail': int(m.group(2)), 'used': int(m.group(3))}
    return info


def parse_server_mount(text):
    """`server_mount server_2` -> {mover, mounts: [{fs, mountpoint, fstype, options, mode}]}."""
    lines = _lines(text)
    if not lines:
        raise CelerraParseError('server_mount', text, 'empty output')
    mover = _mover_header(lines[0], 'server_mount', text)
    mounts = []
    for line in lines[1:]:
        m = re.match(r'^\s*(\S+)\s+on\s+(/\S*)\s+(\S+)\s*$', line)
        if not m:
            raise CelerraParseError('server_mount', text, 'unexpected line %r' % line)
        fstype, dummy, opts = m.group(3).partition(',')
        options = [o for o in opts.split(',') if o]
        mode = 'ro' if 'ro' in options else 'rw'
        mounts.append({'fs': m.group(1), 'mountpoint': m.group(2), 'fstype': fstype, 'options': options, 'mode': mode})
    return {'mover': mover, 'mounts': mounts}


def parse_export_options(spec):
    """`rw=a:b root=a access=a:b` (or the comma form given to -option) -> dict of host lists."""
    options = {}
    other = {}
    for token in re.split(r'[\s,]+', (spec or '').strip()):
        if not token:
            continue
        key, sep, value = token.partition('=')
        if key in EXPORT_OPTION_KEYS:
            options[key] = [h for h in value.split(':') if h] if sep else []
        else:
            other[key] = value if sep else True
    return options, other


def parse_server_export(text):
    """`server_export server_2 -list` -> {mover, exports: [{path, options{rw,ro,root,access}, other}]}."""
    lines = _lines(text)
    if not lines:
        raise CelerraParseError('server_export', text, 'empty output')
    mover = _mover_header(lines[0], 'server_export', text)
    exports = []
    for line in lines[1:]:
        m = re.match(r'^\s*(?:export|nfs)\s+"([^"]*)"\s*(.*?)\s*$', line)
        if not m:
            raise CelerraParseError('server_export', text, 'unexpected line %r' % line)
        options, other = parse_export_options(m.group(2))
        exports.append({'path': m.group(1), 'options': options, 'other': other})
    return {'mover': mover, 'exports': exports}


UPGRADE_KEYS = ('component', 'state', 'step', 'step_name', 'from', 'to', 'progress')
UPGRADE_STATES = ('idle', 'running', 'done', 'failed', 'rolling_back', 'rolled_back')


def parse_upgrade_status(text):
    """`nas_upgrade -status` -> {component: {state, step, steps, step_name, from, to, progress, line}}."""
    result = {}
    for line in _lines(text):
        fields = {}
        for token in line.split():
            key, sep, value = token.partition('=')
            if not sep:
                raise CelerraParseError('nas_upgrade -status', text, 'token without "=" in %r' % line)
            fields[key] = value
        missing = [k for k in UPGRADE_KEYS if k not in fields]
        if missing:
            raise CelerraParseError('nas_upgrade -status', text, 'missing %s in %r' % (', '.join(missing), line))
        if fields['state'] not in UPGRADE_STATES:
            raise CelerraParseError('nas_upgrade -status', text, 'unknown state %r' % fields['state'])
        m = re.match(r'^(\d+)/(\d+)$', fields['step'])
        if not m or not fields['progress'].isdigit():
            raise CelerraParseError('nas_upgrade -status', text, 'bad step or progress in %r' % line)
        entry = dict(fields)
        entry.update({
            'step': int(m.group(1)), 'steps': int(m.group(2)), 'progress': int(fields['progress']),
            'step_name': None if fields['step_name'] == '-' else fields['step_name'],
            'from': None if fields['from'] == '-' else fields['from'],
            'to': None if fields['to'] == '-' else fields['to'],
            'line': line.strip(),
        })
        result[fields['component']] = entry
    return result


CHECK_RESULTS = ('Pass', 'Warning', 'Fail')


def parse_checkup(text):
    """`nas_checkup` -> {version, command, log, checks: [{category, check, result}], status, failing}."""
    header = {}
    checks = []
    in_checks = False
    for line in _lines(text):
        if re.match(r'^-+\s*Checks\s*-+$', line.strip()):
            in_checks = True
            continue
        if re.match(r'^-+$', line.strip()):
            in_checks = False
            continue
        if in_checks:
            m = re.match(r'^\s*(.*?)\s*:\s*(.*?)\.*\s*(Pass|Warning|Fail)\s*$', line)
            if not m:
                raise CelerraParseError('nas_checkup', text, 'unexpected check line %r' % line)
            checks.append({'category': m.group(1), 'check': m.group(2).rstrip('. '), 'result': m.group(3).lower()})
            continue
        m = re.match(r'^\s*Check\s+(Version|Command|Log)\s*:\s*(.*?)\s*$', line)
        if m:
            header[m.group(1).lower()] = m.group(2)
        # other lines (banners) are ignored
    if not checks:
        raise CelerraParseError('nas_checkup', text, 'no checks found')
    results = [c['result'] for c in checks]
    status = 'fail' if 'fail' in results else ('warning' if 'warning' in results else 'pass')
    failing = [c for c in checks if c['result'] != 'pass']
    return {
        'version': header.get('version'), 'command': header.get('command'), 'log': header.get('log'),
        'checks': checks, 'status': status, 'failing': failing,
    }


def parse_mover_done(text, mover):
    """True when the output of a change command has `server_N : done`."""
    return any(re.match(r'^\s*%s\s*:\s*done\s*$' % re.escape(mover), line) for line in _lines(text))
