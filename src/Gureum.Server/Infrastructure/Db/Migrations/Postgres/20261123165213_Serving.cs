using System;
using Microsoft.EntityFrameworkCore.Migrations;
using Npgsql.EntityFrameworkCore.PostgreSQL.Metadata;

#nullable disable

namespace Gureum.Server.Infrastructure.Db.Migrations.Postgres
{
    /// <inheritdoc />
    public partial class Serving : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "endpoint_usage",
                columns: table => new
                {
                    Id = table.Column<long>(type: "bigint", nullable: false)
                        .Annotation("Npgsql:ValueGenerationStrategy", NpgsqlValueGenerationStrategy.IdentityByDefaultColumn),
                    ProjectId = table.Column<string>(type: "character varying(26)", nullable: false),
                    EndpointId = table.Column<string>(type: "text", nullable: false),
                    Model = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: false),
                    Version = table.Column<int>(type: "integer", nullable: false),
                    Shadow = table.Column<bool>(type: "boolean", nullable: false),
                    From = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    To = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    Requests = table.Column<long>(type: "bigint", nullable: false),
                    Errors = table.Column<long>(type: "bigint", nullable: false),
                    Rows = table.Column<long>(type: "bigint", nullable: false),
                    LatencyMsSum = table.Column<double>(type: "double precision", nullable: false),
                    LatencyMsMax = table.Column<double>(type: "double precision", nullable: false),
                    Histogram = table.Column<string>(type: "text", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_endpoint_usage", x => x.Id);
                    table.ForeignKey(
                        name: "FK_endpoint_usage_projects_ProjectId",
                        column: x => x.ProjectId,
                        principalTable: "projects",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateTable(
                name: "endpoints",
                columns: table => new
                {
                    Id = table.Column<string>(type: "character varying(26)", maxLength: 26, nullable: false),
                    ProjectId = table.Column<string>(type: "character varying(26)", nullable: false),
                    Name = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: false),
                    Spec = table.Column<string>(type: "text", nullable: false),
                    Generation = table.Column<int>(type: "integer", nullable: false),
                    CreatedBy = table.Column<string>(type: "text", nullable: false),
                    CreatedAt = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    UpdatedAt = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_endpoints", x => x.Id);
                    table.ForeignKey(
                        name: "FK_endpoints_projects_ProjectId",
                        column: x => x.ProjectId,
                        principalTable: "projects",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateTable(
                name: "prediction_samples",
                columns: table => new
                {
                    Id = table.Column<long>(type: "bigint", nullable: false)
                        .Annotation("Npgsql:ValueGenerationStrategy", NpgsqlValueGenerationStrategy.IdentityByDefaultColumn),
                    ProjectId = table.Column<string>(type: "character varying(26)", nullable: false),
                    EndpointId = table.Column<string>(type: "text", nullable: false),
                    Model = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: false),
                    Version = table.Column<int>(type: "integer", nullable: false),
                    Shadow = table.Column<bool>(type: "boolean", nullable: false),
                    RequestId = table.Column<string>(type: "character varying(128)", maxLength: 128, nullable: false),
                    At = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    Status = table.Column<int>(type: "integer", nullable: false),
                    LatencyMs = table.Column<double>(type: "double precision", nullable: false),
                    Input = table.Column<string>(type: "text", nullable: false),
                    Output = table.Column<string>(type: "text", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_prediction_samples", x => x.Id);
                    table.ForeignKey(
                        name: "FK_prediction_samples_projects_ProjectId",
                        column: x => x.ProjectId,
                        principalTable: "projects",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateTable(
                name: "endpoint_models",
                columns: table => new
                {
                    Id = table.Column<long>(type: "bigint", nullable: false)
                        .Annotation("Npgsql:ValueGenerationStrategy", NpgsqlValueGenerationStrategy.IdentityByDefaultColumn),
                    EndpointId = table.Column<string>(type: "character varying(26)", nullable: false),
                    ModelId = table.Column<string>(type: "character varying(26)", nullable: false),
                    Version = table.Column<int>(type: "integer", nullable: true),
                    Alias = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: true),
                    Shadow = table.Column<bool>(type: "boolean", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_endpoint_models", x => x.Id);
                    table.ForeignKey(
                        name: "FK_endpoint_models_endpoints_EndpointId",
                        column: x => x.EndpointId,
                        principalTable: "endpoints",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.Cascade);
                    table.ForeignKey(
                        name: "FK_endpoint_models_registered_models_ModelId",
                        column: x => x.ModelId,
                        principalTable: "registered_models",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateIndex(
                name: "IX_endpoint_models_EndpointId",
                table: "endpoint_models",
                column: "EndpointId");

            migrationBuilder.CreateIndex(
                name: "IX_endpoint_models_ModelId",
                table: "endpoint_models",
                column: "ModelId");

            migrationBuilder.CreateIndex(
                name: "IX_endpoint_usage_EndpointId_From",
                table: "endpoint_usage",
                columns: new[] { "EndpointId", "From" });

            migrationBuilder.CreateIndex(
                name: "IX_endpoint_usage_ProjectId",
                table: "endpoint_usage",
                column: "ProjectId");

            migrationBuilder.CreateIndex(
                name: "IX_endpoints_ProjectId_Name",
                table: "endpoints",
                columns: new[] { "ProjectId", "Name" },
                unique: true);

            migrationBuilder.CreateIndex(
                name: "IX_prediction_samples_EndpointId_At",
                table: "prediction_samples",
                columns: new[] { "EndpointId", "At" });

            migrationBuilder.CreateIndex(
                name: "IX_prediction_samples_ProjectId",
                table: "prediction_samples",
                column: "ProjectId");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "endpoint_models");

            migrationBuilder.DropTable(
                name: "endpoint_usage");

            migrationBuilder.DropTable(
                name: "prediction_samples");

            migrationBuilder.DropTable(
                name: "endpoints");
        }
    }
}
