/**
 * Test support: lists what a package exports from `src/index.ts` without a doc comment, so a
 * package's public API cannot grow an undocumented name. Every export is followed (through the
 * re-exports of index.ts and any barrel between) to its declaration, which must carry a JSDoc
 * comment with text; so must every member of an exported interface or object type, every
 * public member of an exported class, and every field of an object type written inline inside
 * one of those (`build?: { jobs: number }`, `{ … }[]`, `A & { … }`): a nested option is as much
 * of the API as a top-level one. So must every field of an object type written inline in the
 * parameters or the return type of an exported function, public class method or constructor
 * (`options: { target?: string }`, `): { ok: boolean }`) and in an exported variable's declared
 * type: options passed inline are options all the same. One `Program` per call, rooted at
 * index.ts: the checker resolves the aliases, nothing is type-checked, so a package costs one
 * parse of the files its index reaches.
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
 * Generic wrappers whose type arguments are spelled out inline as the value's own shape, so a
 * `{ … }` inside them is a field list of the API (`Array<{ … }>`, `Readonly<{ … }>`,
 * `Record<string, { … }>`). Any other named type is checked where it is declared (if exported),
 * which also keeps the walk from following a type into itself.
 */
const WRAPPERS = new Set([
  "Array",
  "ReadonlyArray",
  "Readonly",
  "Partial",
  "Required",
  "NonNullable",
  "Record",
  "Map",
  "ReadonlyMap",
  "Set",
  "ReadonlySet",
  "Promise",
]);

/**
 * The object type literals that `type` itself writes out: the type, or what it wraps (arrays,
 * tuples, unions, intersections, parentheses, `readonly`, optional and rest elements, the
 * {@link WRAPPERS}). Named types, function types, mapped and conditional types are not entered.
 */
function literalsIn(type: ts.TypeNode | undefined): readonly ts.TypeLiteralNode[] {
  if (type === undefined) return [];
  if (ts.isTypeLiteralNode(type)) return [type];
  if (ts.isParenthesizedTypeNode(type) || ts.isOptionalTypeNode(type) || ts.isRestTypeNode(type)) {
    return literalsIn(type.type);
  }
  if (ts.isTypeOperatorNode(type)) {
    // `readonly T[]` wraps T; `keyof { … }` and `unique symbol` name no fields.
    return type.operator === ts.SyntaxKind.ReadonlyKeyword ? literalsIn(type.type) : [];
  }
  if (ts.isArrayTypeNode(type)) return literalsIn(type.elementType);
  if (ts.isUnionTypeNode(type) || ts.isIntersectionTypeNode(type)) return type.types.flatMap(literalsIn);
  if (ts.isTupleTypeNode(type)) {
    return type.elements.flatMap((e) => literalsIn(ts.isNamedTupleMember(e) ? e.type : e));
  }
  if (ts.isTypeReferenceNode(type) && ts.isIdentifier(type.typeName) && WRAPPERS.has(type.typeName.text)) {
    return (type.typeArguments ?? []).flatMap(literalsIn);
  }
  return [];
}

/**
 * The type a member declares for its value, where fields can be nested: properties, index
 * signatures, and accessors (a getter's return type and a setter's parameter are the type of
 * the property its callers see).
 */
function memberType(member: ts.NamedDeclaration): ts.TypeNode | undefined {
  if (
    ts.isPropertySignature(member) ||
    ts.isPropertyDeclaration(member) ||
    ts.isIndexSignatureDeclaration(member)
  ) {
    return member.type;
  }
  if (ts.isGetAccessorDeclaration(member)) return member.type;
  if (ts.isSetAccessorDeclaration(member)) return member.parameters[0]?.type;
  return undefined;
}

/**
 * The function an exported declaration is, whose parameters and return type are API: a
 * function declaration, or a variable initialized with an arrow function or function expression
 * (`export const f = (o: { … }) => …`) that declares no type of its own (a declared type is
 * checked as the variable's type, and a function type is not entered).
 */
function signatureOf(decl: ts.Declaration): ts.SignatureDeclaration | undefined {
  if (ts.isFunctionDeclaration(decl)) return decl;
  if (ts.isVariableDeclaration(decl) && decl.type === undefined && decl.initializer !== undefined) {
    let init = decl.initializer;
    // `(x) => …` written as `((x) => …)` or `… satisfies F` is still that function.
    while (ts.isParenthesizedExpression(init) || ts.isSatisfiesExpression(init) || ts.isAsExpression(init)) {
      init = init.expression;
    }
    if (ts.isArrowFunction(init) || ts.isFunctionExpression(init)) return init;
  }
  return undefined;
}

/**
 * Members that need their own doc: every member of an interface or of an object type literal a
 * type alias spells out (its own `{ … }`, or one inside a union, an intersection or an array:
 * `type T = Base & { … }`), and a class's public API. Of a class, constructors (the class and
 * its options type say what it takes), `override`s (the base documents them) and private or
 * protected members are left out.
 */
function membersOf(decl: ts.Declaration): readonly ts.NamedDeclaration[] {
  if (ts.isInterfaceDeclaration(decl)) return decl.members;
  if (ts.isTypeAliasDeclaration(decl)) return literalsIn(decl.type).flatMap((l) => l.members);
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
 * Exported declarations of the package whose index is `indexFile`, members of exported
 * interfaces, object types and classes, and fields of the object types written inline in those
 * members, in exported functions' and public methods' parameters and return types and in
 * exported variables' declared types, that have no doc comment: `name (path:line)` entries (a
 * nested field by its dotted path: `Options.build.jobs`, `toGraphJson.options.target`,
 * `fn.return.ok`), paths relative to the package, sorted. Declarations outside the package (a
 * name re-exported from a dependency) are that package's business and are not listed.
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

  // Nesting is bounded by the source text: only inline literals are entered, never a named type.
  const checkMembers = (path: string, members: readonly ts.NamedDeclaration[]) => {
    for (const member of members) {
      const name = `${path}.${member.name ? member.name.getText() : "[signature]"}`;
      if (!hasDocText(member)) out.add(`${name} (${where(member)})`);
      for (const literal of literalsIn(memberType(member))) checkMembers(name, literal.members);
      // A class method's options are as much its API as the method (an interface's method
      // signatures and function-typed members are types, whose parameters are not entered).
      if (ts.isMethodDeclaration(member)) checkSignature(name, member);
    }
  };
  // Fields of the object types a function spells out inline in its parameters
  // (`fn.options.target`, a destructured one by its position: `fn.[param 1].target`) and in
  // its return type (`fn.return.ok`).
  const checkSignature = (path: string, fn: ts.SignatureDeclaration) => {
    fn.parameters.forEach((param, i) => {
      const name = `${path}.${ts.isIdentifier(param.name) ? param.name.text : `[param ${i + 1}]`}`;
      for (const literal of literalsIn(param.type)) checkMembers(name, literal.members);
    });
    for (const literal of literalsIn(fn.type)) checkMembers(`${path}.return`, literal.members);
  };

  for (const exported of checker.getExportsOfModule(moduleSymbol)) {
    const target = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
    const decls = (target.declarations ?? []).filter(inPackage);
    for (const decl of decls) {
      if (isOverloadImplementation(decl, decls)) continue;
      if (!hasDocText(decl)) out.add(`${exported.name} (${where(decl)})`);
      checkMembers(exported.name, membersOf(decl));
      const fn = signatureOf(decl);
      if (fn) checkSignature(exported.name, fn);
      if (ts.isVariableDeclaration(decl)) {
        for (const literal of literalsIn(decl.type)) checkMembers(exported.name, literal.members);
      }
      if (ts.isClassDeclaration(decl)) {
        // What a constructor takes is the class's API even though the constructor needs no doc.
        const closed = ts.ModifierFlags.Private | ts.ModifierFlags.Protected;
        const ctors = decl.members.filter(ts.isConstructorDeclaration);
        for (const ctor of ctors) {
          if (ctors.length > 1 && ctor.body !== undefined) continue; // the overloads say it
          if ((ts.getCombinedModifierFlags(ctor) & closed) === 0)
            checkSignature(`${exported.name}.constructor`, ctor);
        }
      }
    }
  }
  return [...out].sort();
}
