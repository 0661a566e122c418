/**
 * `--head`: measure the committed HEAD, not the working tree. Other people edit src/ while a run
 * goes; a run should measure one known commit. The tree of HEAD is exported (git archive, nothing in
 * the repository changes) into a temp dir, built there with the repository's own TypeScript and
 * node_modules, and its commit written beside dist/ (HOLDLINE_COMMIT) for the report.
 */
import { execFileSync, execSync } from 'node:child_process';
import { symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { repoRoot } from './paths.js';
import { log } from './progress.js';
import { tempDir } from './proc.js';

export function buildHead(): string {
  const commit = execFileSync('git', ['-C', repoRoot, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
  const dir = tempDir(`head-${commit}`);
  log(`building Holdline at commit ${commit} in ${dir}`);
  execSync(`git -C ${JSON.stringify(repoRoot)} archive HEAD | tar -x -C ${JSON.stringify(dir)}`);
  symlinkSync(path.join(repoRoot, 'node_modules'), path.join(dir, 'node_modules'));
  // Only src/: the harness itself runs from this tree.
  writeFileSync(path.join(dir, 'tsconfig.head.json'), JSON.stringify({ extends: './tsconfig.build.json', include: ['src'] }));
  execFileSync(process.execPath, [path.join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', path.join(dir, 'tsconfig.head.json')], {
    cwd: dir,
    stdio: 'inherit',
  });
  writeFileSync(path.join(dir, 'HOLDLINE_COMMIT'), `${commit}\n`);
  return path.join(dir, 'dist');
}
