/**
 * Test support: lists what a package exports from `src/index.ts` without a doc comment, so a
 * package's public API cannot grow an undocumented name. Every export is followed (through the
 * re-exports of index.ts and any barrel between) to its declaration, which must carry a JSDoc
 * comment with text; so must every member of an exported interface or object type, and every
 * public member of an exported class. One `Program` per call, rooted at index.ts: the checker
 * resolves the aliases, nothing is type-checked, so a package costs one parse of the files its
 * index reaches.
 */
import { dirname, relative, resolve } from "node:path";
import ts from "typescript";

const text = (c: string | ts.NodeArray<ts.JSDocComment> | undefined) =>
  (typeof c === "string" ? c : (ts.getTextOfJSDocComment(c) ?? "")).trim();

/**
 * Whether `node` has a JSDoc block with text, in its body or after a tag (`@internal The
 * matcher.` counts; a bare `/** @internal *\/` says nothing and does not).
 */
function hasDocText(node: ts.Node): boolean {
  return ts
    .getJSDocCommentsAndTags(node)
    .some(
      (d) => ts.isJSDoc(d) && (text(d.comment) !== "" || (d.tags ?? []).some((t) => text(t.comment) !== "")),
    );
}

/**
 * Members that need their own doc: every member of an interface or an object type literal (a
 * type alias's own `{ … }`), and a class's public API. Of a class, constructors (the class and
 * its options type say what it takes), `override`s (the base documents them) and private or
 * protected members are left out.
 */
function membersOf(decl: ts.Declaration): readonly ts.NamedDeclaration[] {
  if (ts.isInterfaceDeclaration(decl)) return decl.members;
  if (ts.isTypeAliasDeclaration(decl) && ts.isTypeLiteralNode(decl.type)) return decl.type.members;
  if (ts.isClassDeclaration(decl)) {
    const hidden = ts.ModifierFlags.Private | ts.ModifierFlags.Protected | ts.ModifierFlags.Override;
    return decl.members.filter(
      (m) =>
        !ts.isConstructorDeclaration(m) &&
        !ts.isClassStaticBlockDeclaration(m) &&
        !ts.isSemicolonClassElement(m) &&
        !(m.name && ts.isPrivateIdentifier(m.name)) &&
        (ts.getCombinedModifierFlags(m) & hidden) === 0,
    );
  }
  return [];
}

/** A function's implementation after its overload signatures: the overloads carry the docs. */
function isOverloadImplementation(decl: ts.Declaration, all: readonly ts.Declaration[]): boolean {
  return (
    ts.isFunctionDeclaration(decl) &&
    decl.body !== undefined &&
    all.some((d) => d !== decl && ts.isFunctionDeclaration(d) && d.body === undefined)
  );
}

/**
 * Exported declarations of the package whose index is `indexFile`, and members of exported
 * interfaces and classes, that have no doc comment: `name (path:line)` entries, paths relative to the
 * package, sorted. Declarations outside the package (a name re-exported from a dependency)
 * are that package's business and are not listed.
 */
export function undocumentedExports(indexFile: string): string[] {
  const index = resolve(indexFile);
  const pkgDir = dirname(dirname(index));
  const program = ts.createProgram({
    rootNames: [index],
    options: {
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      target: ts.ScriptTarget.ES2024,
      allowImportingTsExtensions: true,
      noEmit: true,
      skipLibCheck: true,
      // No ambient types: only the alias graph matters, and @types/node is a large parse.
      types: [],
    },
  });
  const checker = program.getTypeChecker();
  const source = program.getSourceFile(index);
  if (!source) throw new Error(`${index}: not found`);
  const moduleSymbol = checker.getSymbolAtLocation(source);
  if (!moduleSymbol) return []; // no exports at all

  const out = new Set<string>();
  const where = (node: ts.Node) => {
    const file = node.getSourceFile();
    const line = file.getLineAndCharacterOfPosition(node.getStart(file)).line + 1;
    return `${relative(pkgDir, file.fileName)}:${line}`;
  };
  const inPackage = (node: ts.Node) => !relative(pkgDir, node.getSourceFile().fileName).startsWith("..");

  for (const exported of checker.getExportsOfModule(moduleSymbol)) {
    const target = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
    const decls = (target.declarations ?? []).filter(inPackage);
    for (const decl of decls) {
      if (isOverloadImplementation(decl, decls)) continue;
      if (!hasDocText(decl)) out.add(`${exported.name} (${where(decl)})`);
      for (const member of membersOf(decl)) {
        if (!hasDocText(member)) {
          const name = member.name ? member.name.getText() : "[signature]";
          out.add(`${exported.name}.${name} (${where(member)})`);
        }
      }
    }
  }
  return [...out].sort();
}
