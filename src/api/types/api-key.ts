import { Field, InputType, ObjectType, registerEnumType } from "type-graphql";
import type { Role } from "../../auth/principal.js";
import { DateTimeScalar } from "../scalars.js";

/** GraphQL READER/WRITER/ADMIN are the lower-case roles of src/auth/principal.ts. */
export const RoleEnum = { READER: "reader", WRITER: "writer", ADMIN: "admin" } as const;
registerEnumType(RoleEnum, { name: "Role" });

@ObjectType("ApiKey")
export class ApiKeyType {
  @Field(() => String)
  name!: string;

  @Field(() => RoleEnum)
  role!: Role;

  @Field(() => [String], { description: "Empty: every project." })
  projects!: string[];

  @Field(() => DateTimeScalar)
  createdAt!: Date;

  @Field(() => DateTimeScalar, { nullable: true })
  lastUsedAt!: Date | null;
}

@ObjectType("CreatedApiKey")
export class CreatedApiKeyType {
  @Field(() => ApiKeyType)
  key!: ApiKeyType;

  @Field(() => String)
  secret!: string;
}

@InputType("CreateApiKeyInput")
export class CreateApiKeyInput {
  @Field(() => String)
  name!: string;

  @Field(() => RoleEnum)
  role!: Role;

  @Field(() => [String], { nullable: true })
  projects?: string[] | null;
}
